from __future__ import annotations

import json

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from annotation.models import Project
from annotation.services import expert_sample_set


class Command(BaseCommand):
    help = (
        "Draw the stratified sample of items experts rate; --experts and --rate change the "
        "project's overlap and share first (by default they stay as set)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--project", type=int, required=True)
        parser.add_argument("--stratify-by", default=None, help="an item metadata key")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--experts", type=int, default=None, help="experts per sampled item")
        parser.add_argument("--rate", type=float, default=None, help="share of items, 0 to 1")

    def handle(self, *args, project: int, stratify_by, seed: int, experts, rate, **options):
        target = Project.objects.filter(pk=project).first()
        if target is None:
            raise CommandError(f"No project {project}.")
        try:
            n = expert_sample_set(
                project=target,
                experts_per_item=target.expert_raters_per_item if experts is None else experts,
                sample_rate=target.expert_sample_rate if rate is None else rate,
                stratify_by=stratify_by,
                seed=seed,
            )
        except ValidationError as exc:
            raise CommandError(json.dumps(exc.message_dict)) from None
        self.stdout.write(f"{n} items in the expert sample")
