"""``manage.py convert_labels --from TOOL FILE... --out DIR``: another tool's export as a vote
table and an item table, without touching the database."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from interop.parsers import TOOLS, Input, Limits, ParseError, parse
from interop.parsers.common import DEFAULT_MAX_BYTES


def _cell(value: Any) -> Any:
    if isinstance(value, list):
        return json.dumps(value, ensure_ascii=False)
    return value


class Command(BaseCommand):
    help = (
        "Convert a Label Studio, doccano, Argilla, POTATO or Prodigy export into votes.csv "
        "(item, voter, label, weight, role) and items.csv (item, kind, text, gold, metadata), "
        "with report.csv (one row per record read) and suggestions.csv (model suggestions, "
        "when the file has any). Nothing is written to the database."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--from", dest="tool", required=True, choices=sorted(TOOLS))
        parser.add_argument("files", nargs="+", help="export files (a zip is opened)")
        parser.add_argument("--out", required=True, help="folder to write the tables into")
        parser.add_argument(
            "--field",
            default=None,
            help="the question or control whose labels to take, when the file has several",
        )
        parser.add_argument("--max-bytes", type=int, default=DEFAULT_MAX_BYTES)

    def handle(self, *args: Any, **options: Any) -> None:
        inputs = []
        for name in options["files"]:
            path = Path(name)
            if not path.is_file():
                raise CommandError(f"{name}: no such file")
            # Keep the folders below the current one: POTATO's rater is a folder's name.
            shown = str(path) if not path.is_absolute() else path.name
            if path.name in ("user_state.json", "annotated_instances.jsonl"):
                shown = f"{path.parent.name}/{path.name}"
            inputs.append(Input.from_path(path, name=shown))
        try:
            parsed = parse(
                options["tool"],
                inputs,
                field=options["field"],
                limits=Limits(max_bytes=options["max_bytes"]),
            )
        except ParseError as exc:
            raise CommandError(f"Nothing converted: {exc}") from None
        out = Path(options["out"])
        out.mkdir(parents=True, exist_ok=True)
        parsed.votes.to_csv(out / "votes.csv", index=False)
        parsed.items.map(_cell).to_csv(out / "items.csv", index=False)
        parsed.report.to_csv(out / "report.csv", index=False)
        if len(parsed.suggestions):
            parsed.suggestions.to_csv(out / "suggestions.csv", index=False)
        summary = parsed.summary()
        self.stdout.write(
            f"{summary['votes']} votes by {summary['voters']} raters on {summary['items']} "
            f"items from {summary['records']} records "
            f"({', '.join(f'{k}: {v}' for k, v in summary['records_by_status'].items())}); "
            f"written to {out}"
        )
