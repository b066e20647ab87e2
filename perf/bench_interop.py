"""Benchmark of reading another tool's export: a Label Studio JSON export of 1,000,000
annotations (100,000 tasks, 10 raters each, a choices result per annotation, the fields
Label Studio writes per annotation) into the vote and item tables.

Run from the repository root:  python perf/bench_interop.py [--tasks N]

Two measures, each against the target of >= 50,000 annotations per second:

* **read**: ``interop.parsers.parse`` alone (as ``manage.py convert_labels`` reads a file);
* **import**: the whole import job body (``interop.services.label_import_run``: reading the
  kept export, then a new annotation project with its 100,000 items and 1,000,000 imported
  ratings, in one transaction) into a PostgreSQL database of its own,
  ``chorus_perf_interop`` (on the server of ``DATABASE_URL``). Keeping the upload (copying
  the file into the storage) is not measured.

Seeded; the file is written to a temporary folder and removed. Prints the figures and exits
with status 1 if a target is missed. ``--read-only`` skips the database.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import bench_benchmarks_build as build_bench

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TARGET = 50_000  # annotations per second
RATERS = 10
LABELS = ["anger", "joy", "sadness", "fear", "surprise", "neutral"]


def write_export(path: Path, tasks: int) -> int:
    import numpy as np

    rng = np.random.default_rng(7)
    choice = rng.integers(0, len(LABELS), size=(tasks, RATERS))
    n = 0
    with path.open("w", encoding="utf-8") as fh:
        fh.write("[")
        for i in range(tasks):
            annotations = []
            for j in range(RATERS):
                annotations.append(
                    {
                        "id": i * RATERS + j + 1,
                        "completed_by": j + 1,
                        "result": [
                            {
                                "id": f"r{i}-{j}",
                                "from_name": "emotion",
                                "to_name": "text",
                                "type": "choices",
                                "origin": "manual",
                                "value": {"choices": [LABELS[choice[i, j]]]},
                            }
                        ],
                        "was_cancelled": False,
                        "ground_truth": False,
                        "created_at": "2024-05-01T10:00:00.000000Z",
                        "updated_at": "2024-05-01T10:00:00.000000Z",
                        "lead_time": 3.25,
                        "task": i + 1,
                        "project": 1,
                    }
                )
                n += 1
            task = {
                "id": i + 1,
                "data": {"text": f"Passage number {i} of the benchmark export.", "speaker": "s"},
                "annotations": annotations,
                "predictions": [],
                "meta": {},
                "created_at": "2024-05-01T09:00:00.000000Z",
                "project": 1,
            }
            if i:
                fh.write(",")
            fh.write(json.dumps(task))
        fh.write("]")
    return n


DB_NAME = "chorus_perf_interop"


def import_into_database(path: Path) -> tuple[float, float, dict]:
    """Run the import job's body on ``path``; returns (wall seconds, CPU seconds, summary)."""
    from django.core.files import File
    from django.core.management import call_command
    from django.db import connection

    from accounts.models import User
    from accounts.services import study_create
    from interop.models import LabelImport
    from interop.services import label_import_run

    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        # A database of the benchmark's own: the previous run's study, project, items,
        # ratings and imported raters go at once.
        cursor.execute("TRUNCATE accounts_study, accounts_user CASCADE")
    user, _ = User.objects.get_or_create(username="perf-interop")
    study = study_create(user=user, name="Perf interop")
    label_import = LabelImport(
        study=study, tool="label-studio", name="Perf import", source_name=path.name,
        created_by=user,
    )  # fmt: skip
    with path.open("rb") as fh:
        label_import.source_file.save(path.name, File(fh), save=False)
    label_import.save()
    try:
        started, cpu = time.perf_counter(), time.process_time()
        output = label_import_run(label_import=label_import, progress=lambda *_a: None)
        return time.perf_counter() - started, time.process_time() - cpu, output.result
    finally:
        label_import.source_file.delete(save=False)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--read-only", action="store_true")
    args = parser.parse_args()
    if not args.read_only:
        build_bench.ensure_database(DB_NAME)
        build_bench.setup_django(DB_NAME, "/tmp/chorus-perf-interop-media")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from interop.parsers import Input, parse

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "export.json"
        started = time.perf_counter()
        n = write_export(path, args.tasks)
        print(f"wrote {n:,} annotations ({path.stat().st_size / 2**20:,.0f} MiB) "
              f"in {time.perf_counter() - started:.1f} s")  # fmt: skip
        started, cpu = time.perf_counter(), time.process_time()
        parsed = parse("label-studio", [Input.from_path(path)])
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        rate = len(parsed.votes) / seconds
        print(f"read {len(parsed.votes):,} votes on {len(parsed.items):,} items in "
              f"{seconds:.1f} s: {rate:,.0f} annotations/s (target >= {TARGET:,}; "
              f"CPU {cpu:.1f} s)")  # fmt: skip
        met = len(parsed.votes) == n and rate >= TARGET
        del parsed
        if args.read_only:
            return 0 if met else 1
        seconds, cpu, summary = import_into_database(path)
    rate = summary["votes"] / seconds
    # The CPU time is this process's alone (the database server works meanwhile too).
    print(f"imported {summary['answers']:,} answers ({summary['votes']:,} votes) on "
          f"{summary['items']:,} items into PostgreSQL in {seconds:.1f} s: {rate:,.0f} "
          f"annotations/s (target >= {TARGET:,}; CPU of this process {cpu:.1f} s)")  # fmt: skip
    return 0 if met and summary["votes"] == n and rate >= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
