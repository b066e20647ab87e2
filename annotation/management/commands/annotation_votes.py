from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from annotation.models import Project
from annotation.selectors import project_vote_table


class Command(BaseCommand):
    help = "Write a project's vote table as CSV (stdout, or --output FILE)."

    def add_arguments(self, parser):
        parser.add_argument("--project", type=int, required=True)
        parser.add_argument("--output", default="-")
        parser.add_argument("--include-excluded", action="store_true")

    def handle(self, *args, project: int, output: str, include_excluded: bool, **options):
        target = Project.objects.filter(pk=project).first()
        if target is None:
            raise CommandError(f"No project {project}.")
        table = project_vote_table(project=target, include_excluded=include_excluded)
        if output == "-":
            self.stdout.write(table.to_csv(index=False), ending="")
        else:
            table.to_csv(output, index=False)
