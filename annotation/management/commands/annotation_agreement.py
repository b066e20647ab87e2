from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from annotation.models import Project
from annotation.selectors import project_agreement


class Command(BaseCommand):
    help = "Print the agreement report of a project (JSON): alpha with interval, kappa, breakdowns."

    def add_arguments(self, parser):
        parser.add_argument("--project", type=int, required=True)
        parser.add_argument("--boot", type=int, default=200, help="bootstrap replicates")
        parser.add_argument("--seed", type=int, default=0)

    def handle(self, *args, project: int, boot: int, seed: int, **options):
        target = Project.objects.filter(pk=project).first()
        if target is None:
            raise CommandError(f"No project {project}.")
        report = project_agreement(project=target, n_boot=boot, seed=seed)
        self.stdout.write(json.dumps(report, indent=2, default=str))
