"""Every string of the pages is translated into Korean.

``makemessages`` runs on a temporary copy of the repository, so the catalogues are those the
code would produce now (strings added since the last update included); an entry with an
empty or fuzzy Korean translation fails the test, listing where the string comes from.
Needs GNU gettext (``xgettext``, ``msgmerge``), as ``makemessages`` does.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# The apps with a catalogue of their own; everything else (templates/, accounts/, jobs/,
# config/) goes into the site catalogue, locale/.
APP_CATALOGUES = ["annotation", "benchmarks", "evaluation", "interop", "surveys"]
SKIP = shutil.ignore_patterns(
    ".git",
    ".venv",
    "node_modules",
    "media",
    "staticfiles",
    "__pycache__",
    ".pytest_cache",
    ".ruff_cache",
    "*.sqlite3*",
    "*.mo",
)


@dataclass
class Entry:
    msgid: str = ""
    msgstr: list[str] = field(default_factory=list)
    flags: set[str] = field(default_factory=set)
    references: list[str] = field(default_factory=list)
    obsolete: bool = False


_ESCAPES = {"n": "\n", "t": "\t", '"': '"', "\\": "\\"}


def _unquote(text: str) -> str:
    body = text.strip()[1:-1]
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(1)), body)


def parse_po(path: Path) -> list[Entry]:
    """The entries of a .po file (enough of the format for makemessages' output)."""
    entries: list[Entry] = []
    current = Entry()
    target: str | None = None
    for raw in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        line = raw.strip()
        if not line:
            if target is not None:
                entries.append(current)
            current, target = Entry(), None
            continue
        if line.startswith("#~"):
            current.obsolete = True
            continue
        if line.startswith("#,"):
            current.flags.update(f.strip() for f in line[2:].split(","))
        elif line.startswith("#:"):
            current.references.extend(line[2:].split())
        elif line.startswith("#"):
            continue
        elif line.startswith("msgid_plural"):
            target = "plural"
        elif line.startswith("msgid "):
            target = "msgid"
            current.msgid = _unquote(line[6:])
        elif line.startswith("msgstr"):
            target = "msgstr"
            current.msgstr.append(_unquote(line.split(" ", 1)[1]))
        elif line.startswith('"'):
            if target == "msgid":
                current.msgid += _unquote(line)
            elif target == "msgstr":
                current.msgstr[-1] += _unquote(line)
    return entries


def missing_in(path: Path) -> list[str]:
    out = []
    for entry in parse_po(path):
        if entry.obsolete or entry.msgid == "":
            continue
        if "fuzzy" in entry.flags or not any(s.strip() for s in entry.msgstr):
            where = ", ".join(entry.references[:2])
            state = "fuzzy" if "fuzzy" in entry.flags else "untranslated"
            out.append(f"{state}: {entry.msgid!r} ({where})")
    return out


def test_po_parser_reads_flags_plurals_and_continuations(tmp_path):
    po = tmp_path / "django.po"
    po.write_text(
        'msgid ""\nmsgstr ""\n"Plural-Forms: nplurals=1; plural=0;\\n"\n\n'
        '#: a.py:1\nmsgid "Done"\nmsgstr "완료"\n\n'
        '#: b.html:2\n#, fuzzy\nmsgid "Old"\nmsgstr "옛"\n\n'
        '#: c.py:3\nmsgid ""\n"Two "\n"lines"\nmsgstr ""\n\n'
        '#: d.html:4\nmsgid "%(n)s item"\nmsgid_plural "%(n)s items"\nmsgstr[0] "%(n)s개"\n\n'
        '#~ msgid "Gone"\n#~ msgstr ""\n',
        encoding="utf-8",
    )
    assert missing_in(po) == [
        "fuzzy: 'Old' (b.html:2)",
        "untranslated: 'Two lines' (c.py:3)",
    ]


def test_makemessages_leaves_nothing_untranslated_in_korean(tmp_path):
    for tool in ("xgettext", "msgmerge", "msguniq"):
        assert shutil.which(tool), f"{tool} (GNU gettext) is needed to extract the strings"
    copy = tmp_path / "repo"
    shutil.copytree(REPO, copy, ignore=SKIP, symlinks=False)
    result = subprocess.run(
        [sys.executable, "manage.py", "makemessages", "-l", "ko", "--no-obsolete"],
        cwd=copy,
        env={**os.environ, "PYTHONPATH": str(copy)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    catalogues = [
        copy / app / "locale" / "ko" / "LC_MESSAGES" / "django.po" for app in APP_CATALOGUES
    ]
    catalogues.append(copy / "locale" / "ko" / "LC_MESSAGES" / "django.po")
    problems = []
    for po in catalogues:
        assert po.exists(), po
        problems += [f"{po.relative_to(copy)}: {p}" for p in missing_in(po)]
    assert problems == [], "\n".join(problems)
