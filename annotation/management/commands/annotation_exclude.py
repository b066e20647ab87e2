from __future__ import annotations

import json

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.models import User
from annotation.models import Exclusion, Project
from annotation.services import exclusion_create, exclusion_lift


class Command(BaseCommand):
    help = "Leave a rater's labels out of the vote table with a reason, or --lift the exclusion."

    def add_arguments(self, parser):
        parser.add_argument("--project", type=int, required=True)
        parser.add_argument("--user", required=True, help="the rater")
        parser.add_argument("--by", required=True, help="the researcher deciding")
        parser.add_argument("--reason", default="")
        parser.add_argument("--lift", action="store_true")

    def handle(self, *args, project: int, user: str, by: str, reason: str, lift: bool, **options):
        target = Project.objects.filter(pk=project).first()
        rater = User.objects.filter(username=user).first()
        researcher = User.objects.filter(username=by).first()
        if target is None or rater is None or researcher is None:
            raise CommandError("No such project or user.")
        try:
            if lift:
                active = Exclusion.objects.filter(project=target, rater=rater, active=True).first()
                if active is None:
                    raise CommandError(f"{user} is not excluded.")
                exclusion = exclusion_lift(exclusion=active, by=researcher)
            else:
                exclusion = exclusion_create(
                    project=target, rater=rater, reason=reason, by=researcher
                )
        except ValidationError as exc:
            raise CommandError(json.dumps(exc.message_dict)) from None
        self.stdout.write(
            json.dumps({"exclusion": exclusion.pk, "active": exclusion.active, "user": user})
        )
