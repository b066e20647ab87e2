"""Benchmark of reading another tool's export: a Label Studio JSON export of 1,000,000
annotations (100,000 tasks, 10 raters each, a choices result per annotation, the fields
Label Studio writes per annotation) into the vote and item tables.

Run from the repository root:  python perf/bench_interop.py [--tasks N]

Target: >= 50,000 annotations per second through ``interop.parsers.parse`` (streamed from
the file, as ``manage.py convert_labels`` and the import job read it). Seeded; the file is
written to a temporary folder and removed. Prints the figures and exits with status 1 if the
target is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

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


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, default=100_000)
    args = parser.parse_args()
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
    print(f"read {len(parsed.votes):,} votes on {len(parsed.items):,} items in {seconds:.1f} s: "
          f"{rate:,.0f} annotations/s (target >= {TARGET:,})")  # fmt: skip
    # One thread: on an idle machine the two agree; on a shared one the CPU time tells what
    # the code costs when the wall clock also counts the other processes.
    print(f"CPU time {cpu:.1f} s: {len(parsed.votes) / cpu:,.0f} annotations per CPU second")
    return 0 if len(parsed.votes) == n and rate >= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
