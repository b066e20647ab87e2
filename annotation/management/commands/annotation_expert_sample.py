from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from annotation.models import Project
from annotation.services import expert_sample_draw


class Command(BaseCommand):
    help = "Draw the stratified sample of items experts rate (project's expert rate and k)."

    def add_arguments(self, parser):
        parser.add_argument("--project", type=int, required=True)
        parser.add_argument("--stratify-by", default=None, help="an item metadata key")
        parser.add_argument("--seed", type=int, default=0)

    def handle(self, *args, project: int, stratify_by: str | None, seed: int, **options):
        target = Project.objects.filter(pk=project).first()
        if target is None:
            raise CommandError(f"No project {project}.")
        n = expert_sample_draw(project=target, stratify_by=stratify_by, seed=seed)
        self.stdout.write(f"{n} items in the expert sample")
