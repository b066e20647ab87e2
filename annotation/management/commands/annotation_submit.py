from __future__ import annotations

import json

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.models import User
from annotation.models import Project
from annotation.services import annotation_submit


class Command(BaseCommand):
    help = "Record a rater's answer: --label KEY (primary) --secondary KEY ... --rating KEY=N."

    def add_arguments(self, parser):
        parser.add_argument("--project", type=int, required=True)
        parser.add_argument("--user", required=True)
        parser.add_argument("--item", type=int, required=True)
        parser.add_argument("--label", action="append", default=[])
        parser.add_argument("--secondary", action="append", default=[])
        parser.add_argument("--rating", action="append", default=[])
        parser.add_argument("--comment", default="")

    def handle(self, *args, project, user, item, label, secondary, rating, comment, **options):
        target = Project.objects.filter(pk=project).first()
        rater = User.objects.filter(username=user).first()
        if target is None or rater is None:
            raise CommandError("No such project or user.")
        labels = [{"category": k, "role": "primary"} for k in label]
        labels += [{"category": k, "role": "secondary"} for k in secondary]
        ratings = dict(r.split("=", 1) for r in rating)
        try:
            annotation = annotation_submit(
                project=target, user=rater, item_id=item, labels=labels, ratings=ratings,
                comment=comment,
            )  # fmt: skip
        except ValidationError as exc:
            raise CommandError(json.dumps(exc.message_dict)) from None
        self.stdout.write(f"saved answer {annotation.pk}")
