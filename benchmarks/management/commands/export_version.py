"""``manage.py export_version DATASET_ID [--version N] --format FORMAT --out DIR``.

FORMAT is one of ``hf``, ``zip``, ``csv``, ``jsonl``, ``parquet``, ``lm-eval``.

Writes a frozen dataset version (the latest by default) into a folder: the zip of every
format, the Hugging Face folder (``datasets.load_dataset(DIR)`` reads it), or the item and vote
tables of one format, or an lm-evaluation-harness task folder (``lm_eval --include_path DIR``).
Every format carries the items' content; audio files go under
``media/``. The same version always gives the same files.
"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from benchmarks.models import Dataset, Version
from benchmarks.services import EXPORT_FORMATS, version_export_write
from benchmarks.services.lm_eval import NoTaskItems


class Command(BaseCommand):
    help = "Export a dataset version (the latest by default) into a folder."

    def add_base_argument(self, parser, *args, **kwargs):
        # ``--version`` names the dataset version here, not Django's.
        if "--version" not in args:
            super().add_base_argument(parser, *args, **kwargs)

    def add_arguments(self, parser):
        parser.add_argument("dataset_id", type=int)
        parser.add_argument("--version", type=int, default=None, help="version number")
        parser.add_argument("--format", required=True, choices=EXPORT_FORMATS, dest="fmt")
        parser.add_argument("--out", required=True, help="output folder (created if needed)")
        parser.add_argument(
            "--raw",
            action="store_true",
            help="CSV files: leave cells starting with = + - @ as they are (by default a ' is "
            "put in front, so spreadsheets do not run them as formulas)",
        )

    def handle(
        self,
        *args,
        dataset_id: int,
        version: int | None,
        fmt: str,
        out: str,
        raw: bool = False,
        **kw,
    ):
        dataset = Dataset.objects.filter(pk=dataset_id).first()
        if dataset is None:
            raise CommandError(f"dataset_id: no dataset {dataset_id}")
        versions = Version.objects.filter(dataset=dataset).select_related("dataset")
        chosen = (
            versions.filter(number=version).first()
            if version is not None
            else versions.order_by("-number").first()
        )
        if chosen is None:
            raise CommandError(
                f"--version: dataset {dataset_id} has no version {version}"
                if version is not None
                else f"dataset_id: dataset {dataset_id} has no version yet; build one first"
            )
        target = Path(out)
        if target.exists() and not target.is_dir():
            raise CommandError(f"--out: {target} is a file, not a folder")
        try:
            written = version_export_write(
                version=chosen, fmt=fmt, out=target, formula_escape=not raw
            )
        except NoTaskItems as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"{dataset.name} v{chosen.number} ({fmt}): {len(written)} file(s) in {target}"
        )
