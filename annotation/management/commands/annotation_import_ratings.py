from __future__ import annotations

import json
import time
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from annotation.models import Project
from annotation.services import ratings_import


class Command(BaseCommand):
    help = (
        "Import ratings given elsewhere from CSV (item,rater,label[,role,created,time_ms]) with "
        "one binary COPY (PostgreSQL); all or nothing, idempotent."
    )

    def add_arguments(self, parser):
        parser.add_argument("--project", type=int, required=True)
        parser.add_argument("file", type=Path)

    def handle(self, *args, project: int, file: Path, **options):
        target = Project.objects.filter(pk=project).first()
        if target is None:
            raise CommandError(f"No project {project}.")
        started = time.perf_counter()
        try:
            with file.open("rb") as source:
                report = ratings_import(project=target, source=source)
        except ValidationError as exc:
            raise CommandError(json.dumps(exc.message_dict)) from None
        seconds = time.perf_counter() - started
        self.stdout.write(json.dumps({**report, "seconds": round(seconds, 2)}, indent=2))
