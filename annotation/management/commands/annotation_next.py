from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from accounts.models import User
from annotation.models import Project
from annotation.services import assignment_next


class Command(BaseCommand):
    help = "Lease the next item of a project to a rater and print it (JSON)."

    def add_arguments(self, parser):
        parser.add_argument("--project", type=int, required=True)
        parser.add_argument("--user", required=True)

    def handle(self, *args, project: int, user: str, **options):
        target = Project.objects.filter(pk=project).first()
        rater = User.objects.filter(username=user).first()
        if target is None or rater is None:
            raise CommandError("No such project or user.")
        lease = assignment_next(project=target, user=rater)
        if lease is None:
            self.stdout.write("null")
            return
        item = lease.item
        self.stdout.write(
            json.dumps(
                {"item": item.pk, "external_id": item.external_id, "text": item.text,
                 "expires_at": lease.expires_at.isoformat()}
            )
        )  # fmt: skip
