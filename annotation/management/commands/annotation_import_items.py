from __future__ import annotations

import json
from contextlib import nullcontext
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from annotation.models import Project
from annotation.services import items_import


class Command(BaseCommand):
    help = "Import items (CSV or JSONL, plus a zip of media) into a project; prints the report."

    def add_arguments(self, parser):
        parser.add_argument("--project", type=int, required=True)
        parser.add_argument("file", type=Path)
        parser.add_argument("--media", type=Path, help="zip of the media files named in rows")

    def handle(self, *args, project: int, file: Path, media: Path | None, **options):
        target = Project.objects.filter(pk=project).first()
        if target is None:
            raise CommandError(f"No project {project}.")
        # The zip is read from the disk one file at a time, never loaded whole.
        with media.open("rb") if media else nullcontext() as archive:
            try:
                report = items_import(
                    project=target,
                    data=file.read_bytes(),
                    filename=file.name,
                    media_zip=archive,
                )
            except ValidationError as exc:
                raise CommandError(json.dumps(exc.message_dict)) from None
        self.stdout.write(json.dumps(report.as_dict(), indent=2))
        if not report.ok:
            raise CommandError("Nothing was imported: see the rows with errors above.")
