from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from annotation.models import Project
from annotation.selectors import project_vote_table
from sources.csv_escape import escape_frame


class Command(BaseCommand):
    help = "Write a project's vote table as CSV (stdout, or --output FILE)."

    def add_arguments(self, parser):
        parser.add_argument("--project", type=int, required=True)
        parser.add_argument("--output", default="-")
        parser.add_argument("--include-excluded", action="store_true")
        parser.add_argument(
            "--raw",
            action="store_true",
            help="leave cells starting with = + - @ as they are (by default a ' is put in "
            "front, so spreadsheets do not run them as formulas)",
        )

    def handle(
        self, *args, project: int, output: str, include_excluded: bool, raw: bool, **options
    ):
        target = Project.objects.filter(pk=project).first()
        if target is None:
            raise CommandError(f"No project {project}.")
        table = project_vote_table(project=target, include_excluded=include_excluded)
        if not raw:
            table = escape_frame(table)
        if output == "-":
            self.stdout.write(table.to_csv(index=False), ending="")
        else:
            table.to_csv(output, index=False)
