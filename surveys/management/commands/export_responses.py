from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand

from surveys.management.commands._base import get
from surveys.models import Survey
from surveys.services import EXPORT_FORMATS, responses_export


class Command(BaseCommand):
    help = "Export a survey's completed responses with weights and strata."

    def add_arguments(self, parser):
        parser.add_argument("--survey", type=int, required=True)
        parser.add_argument("--format", choices=EXPORT_FORMATS, default="csv")
        parser.add_argument("--output", type=Path, help="file or folder (default: here)")
        parser.add_argument(
            "--raw",
            action="store_true",
            help="CSV: leave cells starting with = + - @ as they are (by default a ' is put "
            "in front, so spreadsheets do not run them as formulas)",
        )

    def handle(self, *args, **options):
        survey = get(Survey, options["survey"], "survey")
        name, content = responses_export(
            survey=survey, fmt=options["format"], formula_escape=not options["raw"]
        )
        path = options["output"] or Path(name)
        if path.is_dir():
            path = path / name
        path.write_bytes(content)
        self.stdout.write(f"Wrote {path} ({len(content)} bytes).")
