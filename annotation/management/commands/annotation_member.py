from __future__ import annotations

import json

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.models import User
from annotation.models import MemberRole, Project
from annotation.services import member_add


class Command(BaseCommand):
    help = "Add a user to a project (or change their role and group)."

    def add_arguments(self, parser):
        parser.add_argument("--project", type=int, required=True)
        parser.add_argument("--user", required=True)
        parser.add_argument("--role", choices=MemberRole.values, default=MemberRole.ANNOTATOR)
        parser.add_argument("--group", default="")

    def handle(self, *args, project: int, user: str, role: str, group: str, **options):
        target = Project.objects.filter(pk=project).first()
        member = User.objects.filter(username=user).first()
        if target is None or member is None:
            raise CommandError("No such project or user.")
        try:
            added = member_add(project=target, user=member, role=role, group=group)
        except ValidationError as exc:
            raise CommandError(json.dumps(exc.message_dict)) from None
        self.stdout.write(json.dumps({"user": user, "role": added.role, "group": added.group}))
