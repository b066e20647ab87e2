from __future__ import annotations

import json
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from annotation.api import ProjectSettingsInput
from annotation.models import Project
from annotation.services import project_update


class Command(BaseCommand):
    help = (
        "Change a project's settings: NAME=VALUE pairs (name, description, raters_per_item, "
        "gold_rate, lease_minutes, allow_comment, allow_evidence, disagreement_rule) and "
        "--guidelines FILE (Markdown)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--project", type=int, required=True)
        parser.add_argument("--guidelines", type=Path, help="a Markdown file")
        parser.add_argument("settings", nargs="*", metavar="NAME=VALUE")

    def handle(self, *args, project: int, guidelines: Path | None, settings: list[str], **opts):
        target = Project.objects.filter(pk=project).first()
        if target is None:
            raise CommandError(f"No project {project}.")
        body: dict[str, str] = {}
        for pair in settings:
            name, sep, value = pair.partition("=")
            if not sep:
                raise CommandError(f"Write NAME=VALUE, not {pair!r}.")
            body[name.strip()] = value
        if guidelines is not None:
            try:
                body["guidelines"] = guidelines.read_text(encoding="utf-8")
            except OSError as exc:
                raise CommandError(f"The guidelines file could not be read: {exc}") from None
        data = ProjectSettingsInput(data=body)
        if not data.is_valid():
            raise CommandError(json.dumps(data.errors))
        try:
            changed = project_update(project=target, **data.validated_data)
        except ValidationError as exc:
            raise CommandError(json.dumps(exc.message_dict)) from None
        self.stdout.write(
            json.dumps(
                {"project": changed.pk, "k": changed.raters_per_item, "changed": sorted(body)}
            )
        )
