from __future__ import annotations

import json
from pathlib import Path

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.http import Http404

from accounts.access import access_study
from accounts.models import User
from annotation.api import ProjectInput
from annotation.services import project_create


class Command(BaseCommand):
    help = (
        "Create a project from a JSON schema file (the body of POST /api/annotation/projects/ "
        "without 'study'); prints its id."
    )

    def add_arguments(self, parser):
        parser.add_argument("--study", type=int, required=True)
        parser.add_argument("--user", required=True, help="the researcher creating it")
        parser.add_argument("schema", type=Path)

    def handle(self, *args, study: int, user: str, schema: Path, **options):
        creator = User.objects.filter(username=user).first()
        if creator is None:
            raise CommandError("No such user.")
        try:
            target = access_study(user=creator, study_id=study)
        except (PermissionDenied, Http404):
            raise CommandError(f"{user} is not a member of study {study}.") from None
        try:
            body = json.loads(schema.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise CommandError(f"The schema file could not be read: {exc}") from None
        if not isinstance(body, dict):
            raise CommandError("The schema file must hold a JSON object.")
        data = ProjectInput(data={**body, "study": target.pk})
        if not data.is_valid():
            raise CommandError(json.dumps(data.errors))
        values = dict(data.validated_data)
        values.pop("study")
        try:
            project = project_create(study=target, user=creator, **values)
        except ValidationError as exc:
            raise CommandError(json.dumps(exc.message_dict)) from None
        self.stdout.write(json.dumps({"project": project.pk, "name": project.name}))
