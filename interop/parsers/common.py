"""What every parser shares: the inputs, the streaming readers, the result and its report.

A parser reads the files a tool exports and hands back a :class:`Parsed`: the vote table and
the item table in the columns of :mod:`sources.schema`, the model suggestions kept apart, and a
report with one row per record read. It never writes anywhere. A file it cannot read whole
(another tool's file, truncated JSON, a record without a rater) raises :class:`ParseError`
naming the file and the record, so that nothing of it is imported.
"""

from __future__ import annotations

import codecs
import functools
import io
import json
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Any

import numpy as np
import pandas as pd

from sources import schema

# A file larger than this is refused before it is read (bytes); a zip is held to it in total.
DEFAULT_MAX_BYTES = 512 * 2**20
# Records of one import, all files together.
DEFAULT_MAX_RECORDS = 5_000_000
# Key and label columns of the vote table are stored in columns of this many characters.
KEY_MAX = 200
CHUNK = 1 << 20
# Records are not walked for their depth (that would cost more than reading them): values
# nested beyond what Python's decoder takes are refused by it (RecursionError, reported with
# the record), and the parsers only ever keep scalars and lists of scalars from a record.
JSON_MAX_DEPTH = 32

VOTE_COLUMNS = ("item", "voter", "label", "weight", "role")
SUGGESTION_COLUMNS = ("item", "field", "agent", "label", "score")
REPORT_COLUMNS = ("file", "record", "item", "voter", "votes", "status", "note")


_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")


class ParseError(ValueError):
    """The file cannot be imported; the message names the file and the record at fault."""


@dataclass(frozen=True)
class Limits:
    max_bytes: int = DEFAULT_MAX_BYTES
    max_records: int = DEFAULT_MAX_RECORDS
    json_depth: int = JSON_MAX_DEPTH
    # The longest CSV cell read (the shared IMPORT_CSV_FIELD_MAX_CHARS of config/inputs.py).
    cell_chars: int = 2**20


@dataclass
class Input:
    """One file handed to a parser: its name (a path's last part is what tools mean by it)
    and a way to open it for reading bytes."""

    name: str
    open: Callable[[], IO[bytes]]
    size: int | None = None

    @property
    def stem(self) -> str:
        return PurePosixPath(self.name).stem

    @property
    def suffix(self) -> str:
        return PurePosixPath(self.name).suffix.lower()

    @classmethod
    def from_bytes(cls, name: str, data: bytes) -> Input:
        return cls(name=name, open=lambda: io.BytesIO(data), size=len(data))

    @classmethod
    def from_path(cls, path: str | Path, name: str | None = None) -> Input:
        p = Path(path)
        return cls(name=name or p.name, open=lambda: p.open("rb"), size=p.stat().st_size)


def expand(inputs: list[Input], limits: Limits) -> list[Input]:
    """The files to read: zips are opened and their files taken in name order (folders
    kept in the names, so ``alice/user_state.json`` still says who rated). Sizes are checked
    against ``limits.max_bytes`` by what each file and zip entry states."""
    out: list[Input] = []
    total = 0
    for item in inputs:
        if item.size is not None and item.size > limits.max_bytes:
            raise ParseError(
                f"{item.name}: {item.size:,} bytes; at most {limits.max_bytes:,} per import"
            )
        if item.suffix != ".zip":
            total += item.size or 0
            out.append(item)
            continue
        with item.open() as fh:
            data = fh.read(limits.max_bytes + 1)
        try:
            archive = zipfile.ZipFile(io.BytesIO(data))
        except zipfile.BadZipFile:
            raise ParseError(f"{item.name}: not a readable zip file") from None
        for info in sorted(archive.infolist(), key=lambda i: i.filename):
            if info.is_dir() or PurePosixPath(info.filename).name.startswith("."):
                continue
            if "__MACOSX" in info.filename:
                continue
            total += info.file_size
            if total > limits.max_bytes:
                raise ParseError(
                    f"{item.name}: unpacks to more than {limits.max_bytes:,} bytes "
                    f"(at {info.filename})"
                )
            out.append(
                Input(
                    name=info.filename,
                    open=functools.partial(archive.open, info.filename),
                    size=info.file_size,
                )
            )
    if total > limits.max_bytes:
        raise ParseError(f"the files add up to {total:,} bytes; at most {limits.max_bytes:,}")
    return out


def _loads(text: str, where: str, limits: Limits) -> Any:
    try:
        value = json.loads(text)
    except RecursionError:
        raise ParseError(f"{where}: JSON nested more than {limits.json_depth} levels") from None
    except json.JSONDecodeError as exc:
        raise ParseError(f"{where}: not JSON ({exc.msg} at column {exc.colno})") from None
    return value


def _text_chunks(fh: IO[bytes], name: str) -> Iterator[str]:
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    while True:
        chunk = fh.read(CHUNK)
        try:
            text = decoder.decode(chunk, final=not chunk)
        except UnicodeDecodeError:
            raise ParseError(f"{name}: not UTF-8 text") from None
        if text:
            yield text
        if not chunk:
            return


def first_char(item: Input) -> str:
    """The first non-blank character of a text file ('' for an empty one)."""
    with item.open() as fh:
        head = fh.read(4096)
    return head.decode("utf-8-sig", errors="replace").lstrip()[:1]


def iter_jsonl(item: Input, limits: Limits) -> Iterator[tuple[int, Any]]:
    """``(line number, value)`` of a JSON Lines file, read a chunk at a time."""
    with item.open() as fh:
        pending = ""
        number = 0
        for text in _text_chunks(fh, item.name):
            pending += text
            lines = pending.split("\n")
            pending = lines.pop()
            for line in lines:
                number += 1
                if line.strip():
                    yield number, _loads(line, f"{item.name}, line {number}", limits)
        if pending.strip():
            number += 1
            yield number, _loads(pending, f"{item.name}, line {number}", limits)


_WS = " \t\r\n"


def iter_json_array(item: Input, limits: Limits) -> Iterator[tuple[int, Any]]:
    """``(record number from 1, value)`` of a file holding one JSON array, read a chunk at a
    time so that a file of a million records never sits whole in memory as Python objects.
    A file holding one object yields it as record 1."""
    decoder = json.JSONDecoder()
    with item.open() as fh:
        chunks = _text_chunks(fh, item.name)
        buf = ""
        pos = 0
        done = False

        def more() -> bool:
            nonlocal buf, pos, done
            if done:
                return False
            try:
                buf = buf[pos:] + next(chunks)
            except StopIteration:
                done = True
                buf = buf[pos:]
                pos = 0
                return False
            pos = 0
            return True

        def skip_ws() -> None:
            nonlocal pos
            while True:
                while pos < len(buf) and buf[pos] in _WS:
                    pos += 1
                if pos < len(buf) or not more():
                    return

        skip_ws()
        if pos >= len(buf):
            raise ParseError(f"{item.name}: the file is empty")
        if buf[pos] == "{":
            rest = buf[pos:] + "".join(chunks)
            yield 1, _loads(rest, f"{item.name}, record 1", limits)
            return
        if buf[pos] != "[":
            raise ParseError(f"{item.name}: not a JSON array (it starts with {buf[pos]!r})")
        pos += 1
        number = 0
        while True:
            skip_ws()
            if pos >= len(buf):
                raise ParseError(
                    f"{item.name}: the JSON ends early, after record {number} (truncated?)"
                )
            if buf[pos] == "]":
                pos += 1
                skip_ws()
                if pos < len(buf):
                    raise ParseError(f"{item.name}: text after the end of the JSON array")
                return
            if number:
                if buf[pos] != ",":
                    raise ParseError(
                        f"{item.name}, record {number + 1}: expected ',' between records"
                    )
                pos += 1
                skip_ws()
            number += 1
            while True:
                try:
                    value, end = decoder.raw_decode(buf, pos)
                except RecursionError:
                    raise ParseError(
                        f"{item.name}, record {number}: JSON nested more than "
                        f"{limits.json_depth} levels"
                    ) from None
                except json.JSONDecodeError as exc:
                    # A record cut by a chunk's end: read on and try again.
                    if more():
                        continue
                    raise ParseError(
                        f"{item.name}, record {number}: the JSON ends early or is broken "
                        f"({exc.msg}; truncated?)"
                    ) from None
                # A number at the buffer's end may go on in the next chunk.
                if end >= len(buf) and not done and isinstance(value, int | float) and more():
                    continue
                break
            pos = end
            yield number, value


def text_of(value: Any) -> str | None:
    """A metadata value as text (JSON for lists and objects); None stays None."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    try:
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    except RecursionError:
        return "(nested too deeply to show)"


def key_of(value: Any) -> str | None:
    """A record's id as an item or voter key: text, None when missing or empty."""
    if value is None or isinstance(value, dict | list):
        return None
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return text or None


@dataclass
class Parsed:
    """What a parser hands back (see the module's docstring)."""

    tool: str
    votes: pd.DataFrame
    items: pd.DataFrame
    suggestions: pd.DataFrame
    report: pd.DataFrame
    fields: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        status = self.report["status"].value_counts().to_dict() if len(self.report) else {}
        return {
            "tool": self.tool,
            "votes": len(self.votes),
            "items": len(self.items),
            "voters": int(self.votes["voter"].nunique()) if len(self.votes) else 0,
            "labels": sorted(self.votes["label"].unique().tolist()) if len(self.votes) else [],
            "suggestions": len(self.suggestions),
            "records": len(self.report),
            "records_by_status": {str(k): int(v) for k, v in sorted(status.items())},
            "fields": self.fields,
            "notes": self.notes,
        }


def _text_column(codes: np.ndarray, values: np.ndarray) -> pd.api.extensions.ExtensionArray:
    import pyarrow as pa

    column = pa.DictionaryArray.from_arrays(
        pa.array(codes, type=pa.int64()), pa.array(values, type=pa.large_string())
    ).cast(pa.large_string())
    return pd.array(pa.chunked_array([column]).cast(pa.string()), dtype=schema.TEXT)


def _vote_frame(keys: list[tuple[str, str, str]], labels: list[list[str]]) -> pd.DataFrame:
    """The vote table of the answers ``keys`` (item, voter, field) with their ``labels``: one
    row per label, sorted by item, voter and label as Python sorts text (by code point), the
    order the tests and exports show. Sorted on dictionary codes, not on the texts."""
    n = len(keys)
    item_codes, item_values = pd.factorize(np.array([k[0] for k in keys], dtype=object), sort=True)
    voter_codes, voter_values = pd.factorize(
        np.array([k[1] for k in keys], dtype=object), sort=True
    )
    order = np.lexsort((voter_codes, item_codes))
    sizes = np.fromiter(map(len, labels), dtype=np.int64, count=n)[order]
    if (sizes == 1).all():
        flat = [labels[i][0] for i in order.tolist()]
    else:
        flat = [label for i in order.tolist() for label in sorted(labels[i])]
    label_codes, label_values = pd.factorize(np.array(flat, dtype=object), sort=True)
    rows = int(sizes.sum())
    return pd.DataFrame(
        {
            "item": _text_column(np.repeat(item_codes[order], sizes), item_values),
            "voter": _text_column(np.repeat(voter_codes[order], sizes), voter_values),
            "label": _text_column(label_codes, label_values),
            "weight": np.ones(rows),
            "role": _text_column(np.zeros(rows, dtype=np.int64), np.array(["primary"])),
        }
    )


class Builder:
    """Collects votes, items, suggestions and report rows while a parser walks its records.

    Votes are kept per (item, voter, field) as one answer: a later answer of the same voter on
    the same item replaces the earlier one (and the report says so), as the tools themselves
    keep only a rater's latest answer.
    """

    def __init__(self, tool: str, limits: Limits) -> None:
        self.tool = tool
        self.limits = limits
        self.answers: dict[tuple[str, str, str], list[str]] = {}
        self.answer_row: dict[tuple[str, str, str], int] = {}
        self.items: dict[str, dict[str, Any]] = {}
        self.gold: dict[tuple[str, str], list[str]] = {}
        self.suggestions: list[tuple[str, str, str, str, float | None]] = []
        # The report, one list per column (a million rows build a frame fastest this way).
        self.r_file: list[str] = []
        self.r_record: list[int] = []
        self.r_item: list[str] = []
        self.r_voter: list[str] = []
        self.r_votes: list[int] = []
        # Most records are plain votes: status and note are kept only where they differ from
        # "ok" and "".
        self.r_status: dict[int, str] = {}
        self.r_note: dict[int, str] = {}
        self.notes: list[str] = []
        # Keys already checked (length, control characters), so each is checked once.
        self.voters_seen: set[str] = set()
        # A parser's memo of raw rater ids and their keys.
        self.cache: dict[Any, str] = {}
        self.labels_seen: set[str] = set()

    @property
    def records(self) -> int:
        return len(self.r_file)

    def record(self, file: str, number: int, item: str | None, voter: str | None) -> int:
        """Start a report row for a record; returns its index."""
        row = len(self.r_file)
        if row >= self.limits.max_records:
            raise ParseError(
                f"{file}, record {number}: more than {self.limits.max_records:,} records"
            )
        self.r_file.append(file)
        self.r_record.append(number)
        self.r_item.append(item or "")
        self.r_voter.append(voter or "")
        self.r_votes.append(0)
        return row

    def plain_vote(
        self, file: str, number: int, item: str, voter: str, field: str, label: str
    ) -> bool:
        """A record that is one voter's single label, the commonest record of all: its report
        row and its answer at once. False, with nothing done, where the record needs
        :meth:`record` and :meth:`answer` (a first sight of the voter or label, a repeated
        answer, the record limit)."""
        key = (item, voter, field)
        if (
            key in self.answers
            or voter not in self.voters_seen
            or label not in self.labels_seen
            or not label
            or len(self.r_file) >= self.limits.max_records
        ):
            return False
        self.answer_row[key] = len(self.r_file)
        self.answers[key] = [label]
        self.r_file.append(file)
        self.r_record.append(number)
        self.r_item.append(item)
        self.r_voter.append(voter)
        self.r_votes.append(1)
        return True

    @property
    def last_row(self) -> int:
        return len(self.r_file) - 1

    def note(self, row: int, text: str, status: str | None = None) -> None:
        old = self.r_note.get(row)
        self.r_note[row] = f"{old}; {text}" if old else text
        if status:
            self.r_status[row] = status

    def item(self, key: str, *, where: str, text: str | None = None, **meta: Any) -> None:
        if _CONTROL.search(key):
            raise ParseError(f"{where}: the item key {key[:40]!r} holds a line break or tab")
        if len(key) > KEY_MAX:
            raise ParseError(
                f"{where}: the item key has {len(key):,} characters; at most {KEY_MAX}"
            )
        row = self.items.setdefault(key, {"item": key})
        if text is not None and not row.get("text"):
            row["text"] = text
        for name, value in meta.items():
            if value is not None and name not in row:
                row[name] = text_of(value)

    def answer(
        self, row: int, *, where: str, item: str, voter: str, field: str, labels: list[str]
    ) -> None:
        """Record one voter's labels for one item and field (a multi-label answer has more
        than one)."""
        if voter not in self.voters_seen:
            self._check_voter(voter, where)
        for label in labels:
            if label not in self.labels_seen:
                self._check_label(label, where)
        key = (item, voter, field)
        clean = labels if len(labels) == 1 else list(dict.fromkeys(x for x in labels if x))
        if not clean or not clean[0]:
            clean = [x for x in clean if x]
        if key in self.answers:
            earlier = self.answer_row[key]
            self.note(earlier, "replaced by a later answer of the same rater", "replaced")
            self.r_votes[earlier] = 0
            self.note(row, "replaces an earlier answer of the same rater on this item")
        self.answers[key] = clean
        self.answer_row[key] = row
        self.r_votes[row] += len(clean)

    def _check_voter(self, voter: str, where: str) -> None:
        if len(voter) > KEY_MAX:
            raise ParseError(
                f"{where}: the rater's key has {len(voter):,} characters; at most {KEY_MAX}"
            )
        if _CONTROL.search(voter):
            raise ParseError(f"{where}: the rater's key {voter[:40]!r} holds a line break or tab")
        self.voters_seen.add(voter)

    def _check_label(self, label: str, where: str) -> None:
        if len(label) > KEY_MAX:
            raise ParseError(f"{where}: a label of {len(label):,} characters; at most {KEY_MAX}")
        self.labels_seen.add(label)

    def gold_answer(self, *, item: str, field: str, labels: list[str]) -> None:
        self.gold[(item, field)] = labels

    def suggest(self, *, item: str, field: str, agent: str, label: str, score: Any) -> None:
        number = (
            float(score) if isinstance(score, int | float) and not isinstance(score, bool) else None
        )
        self.suggestions.append((item, field, agent, label, number))

    def build(self, *, field: str | None) -> Parsed:
        fields = sorted({f for (_i, _v, f) in self.answers})
        chosen = field
        if field is not None and field not in fields:
            known = ", ".join(fields) or "none"
            raise ParseError(f"field: the file has no labels under {field!r} (it has: {known})")
        if field is None and len(fields) > 1:
            raise ParseError(
                "field: the file has labels under several names ("
                + ", ".join(fields)
                + "); choose one, each becomes its own import"
            )
        if field is None and fields:
            chosen = fields[0]
        answers = self.answers
        wanted = list(answers) if len(fields) == 1 else [k for k in answers if k[2] == chosen]
        votes = _vote_frame(wanted, [answers[k] for k in wanted])
        if field is not None or len(fields) > 1:
            for (_item, _voter, f), r in self.answer_row.items():
                if f != chosen:
                    self.note(r, f"labels under {f!r} left out (another field)", "other field")
                    self.r_votes[r] = 0
        voted = set(votes["item"].unique().tolist())
        item_rows = []
        for key, meta in self.items.items():
            if key not in voted:
                continue
            row = dict(meta)
            gold = self.gold.get((key, chosen or ""))
            if gold and len(gold) == 1:
                row["gold"] = gold[0]
            row["source_tool"] = self.tool
            item_rows.append(row)
        items = pd.DataFrame(item_rows) if item_rows else pd.DataFrame({"item": []})
        if "text" not in items.columns:
            items["text"] = None
        items = schema.item_frame(items.sort_values("item").reset_index(drop=True))
        suggestions = pd.DataFrame(
            [s for s in self.suggestions if chosen is None or s[1] == chosen],
            columns=list(SUGGESTION_COLUMNS),
        )
        status = ["ok"] * len(self.r_file)
        note = [""] * len(self.r_file)
        for r, text in self.r_status.items():
            status[r] = text
        for r, text in self.r_note.items():
            note[r] = text
        columns = (
            self.r_file, self.r_record, self.r_item, self.r_voter, self.r_votes, status, note,
        )  # fmt: skip
        report = pd.DataFrame(dict(zip(REPORT_COLUMNS, columns, strict=True)))
        return Parsed(
            tool=self.tool,
            votes=votes[list(VOTE_COLUMNS)],
            items=items,
            suggestions=suggestions,
            report=report,
            fields=fields,
            notes=self.notes,
        )
