"""``manage.py evaluate DATASET_ID FILE [--version N] [--name NAME] [--json]``.

Scores a predictions file (CSV or JSONL; see ``evaluation.services.predictions``) against a
dataset version (the latest by default), stores the run on the leaderboard and prints its
headline score with its 95% interval, or every score as JSON.
"""

from __future__ import annotations

import json
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from benchmarks.models import Dataset
from evaluation.selectors import chosen_version
from evaluation.services import run_upload


class Command(BaseCommand):
    help = "Score a predictions file against a dataset version and put it on the leaderboard."

    def add_base_argument(self, parser, *args, **kwargs):
        # ``--version`` names the dataset version here, not Django's.
        if "--version" not in args:
            super().add_base_argument(parser, *args, **kwargs)

    def add_arguments(self, parser):
        parser.add_argument("dataset_id", type=int)
        parser.add_argument("file", help="predictions: .csv or .jsonl")
        parser.add_argument("--version", type=int, default=None, help="version number")
        parser.add_argument("--name", default="", help="the model's name (default: file name)")
        parser.add_argument("--json", action="store_true", help="print every score as JSON")

    def handle(self, *args, dataset_id: int, file: str, version, name: str, **options):
        dataset = Dataset.objects.filter(pk=dataset_id).first()
        if dataset is None:
            raise CommandError(f"dataset_id: no dataset {dataset_id}")
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"file: {path} does not exist")
        try:
            chosen = chosen_version(dataset, version)
            run = run_upload(
                dataset=dataset,
                version=chosen,
                user=None,
                name=name or path.stem,
                raw=path.read_bytes(),
                file_name=path.name,
            )
        except ValidationError as exc:
            problems = (f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
            raise CommandError("; ".join(problems)) from exc
        if options["json"]:
            self.stdout.write(json.dumps(run.scores, indent=2, sort_keys=True))
            return
        h = run.scores.get("headline")
        report = run.scores.get("report", {})
        line = f"{run.name} on {dataset.name} v{chosen.number}: "
        if h:
            line += (
                f"{h['metric']} ({h['rule']}) {h['estimate']:.3f} [{h['low']:.3f}, {h['high']:.3f}]"
            )
        else:
            line += "no headline score"
        self.stdout.write(f"{line}; {report.get('n_predicted')} of {report.get('n_items')} items")
