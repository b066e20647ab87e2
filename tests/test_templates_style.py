"""Template lines stay at most 120 characters long, so that a diff of a template reads like a
diff of code. A line that is too long is named with its file, its number and its length."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import REPO

MAX_LINE = 120


def templates() -> list[Path]:
    """The site's templates (templates/) and every app's (<app>/templates/)."""
    found = [*REPO.glob("templates/**/*.html"), *REPO.glob("*/templates/**/*.html")]
    skipped = {"node_modules", "media", "staticfiles", "build"}
    return sorted(
        path
        for path in found
        if not path.relative_to(REPO).parts[0].startswith(".")
        and path.relative_to(REPO).parts[0] not in skipped
    )


def test_template_lines_are_at_most_120_characters():
    paths = templates()
    assert len(paths) > 60, [str(p) for p in paths]  # the search itself found the templates
    too_long = [
        f"{path.relative_to(REPO)}:{number}: {len(line)} characters"
        for path in paths
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if len(line) > MAX_LINE
    ]
    assert not too_long, "Template lines longer than 120 characters:\n" + "\n".join(too_long)
