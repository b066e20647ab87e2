"""Benchmark of building a version whose items carry text and exporting it for Hugging Face.

Run from the repository root:  python perf/bench_benchmarks_content.py

Data: the 1,000,000 votes of ``bench_benchmarks_build`` (200,000 items x 5 raters, 8
categories) and an items file giving each of the 200,000 items a text of about 200 characters
(words of a seeded made-up vocabulary, with commas, some quotes and accented letters),
uploaded together as Parquet through ``benchmarks.services.source_upload_create`` into a
database of its own, ``chorus_perf_benchmarks_content`` (on the server of ``DATABASE_URL``,
default ``postgres://postgres@127.0.0.1:5432``). Seeded, so every run sees the same data. The
set-up (generating and uploading) is not measured.

Target (measured in the same run, on the same machine): building a version
(``version_build``, which now freezes the items' content as well) and writing its Hugging
Face folder (``version_export_write(fmt="hf")``: one Parquet file per split with the text,
every rule's labels and the nested votes, the matrices and the card) takes at most 3x as long
as PostgreSQL's own ``COPY ... TO STDOUT`` of the vote rows plus ``COPY ... TO STDOUT`` of the
same 200,000 items (``item``, ``text``), each from a table of their own, read fully by the
client;
best of 3 build-and-export runs against best of 3 of each COPY. Peak memory under 2 GB: the
peak resident set size (``VmHWM``, see ``bench_benchmarks_build.peak_rss``) of a fresh process
that does only the build and then the export.
Exits with status 1 if a target is missed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import bench_benchmarks_build as build_bench
import numpy as np
from bench_benchmarks_build import FAST_RULES, N_ITEMS, RATERS, make_votes, peak_rss

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DB_NAME = "chorus_perf_benchmarks_content"
TEXT_CHARS = 200
VOCABULARY = 5_000
RUNS = 3
RATIO = 3.0
MEMORY_LIMIT = 2 * 1024**3


def database_url() -> str:
    return build_bench.database_url(DB_NAME)


def setup_django() -> None:
    build_bench.setup_django(DB_NAME, "/tmp/chorus-perf-benchmarks-content-media")


def ensure_database() -> None:
    build_bench.ensure_database(DB_NAME)


def make_items(seed: int = 2027):
    """The items of ``make_votes`` (``item000000``...), each with a text of ~200 characters."""
    import pyarrow as pa

    rng = np.random.default_rng(seed)
    letters = np.array(list("abcdefghijklmnopqrstuvwxyzéèàç"))
    weights = np.r_[np.full(26, 1.0), np.full(4, 0.1)]
    lengths = rng.integers(2, 11, VOCABULARY)
    vocab = ["".join(rng.choice(letters, size=k, p=weights / weights.sum())) for k in lengths]
    # Some commas and quotes, so that CSV and JSON writers have something to quote.
    vocab = [
        f'"{w}"' if r < 0.01 else f"{w}," if r < 0.1 else w
        for w, r in zip(vocab, rng.random(VOCABULARY), strict=True)
    ]
    sizes = np.array([len(w) + 1 for w in vocab])
    words = rng.integers(0, VOCABULARY, (N_ITEMS, 3 * TEXT_CHARS // 5))
    target = np.clip(rng.normal(TEXT_CHARS + 5, 25, N_ITEMS), 100, 300)
    count = (np.cumsum(sizes[words], axis=1) <= target[:, None]).sum(axis=1)
    texts = []
    for row, k in zip(words.tolist(), count.tolist(), strict=True):
        text = " ".join(vocab[w] for w in row[:k]).rstrip(",")
        texts.append(text[:1].upper() + text[1:] + ".")
    return pa.table(
        {
            "item": pa.array([f"item{i:06d}" for i in range(N_ITEMS)], pa.string()),
            "text": pa.array(texts, pa.string()),
        }
    )


def load(items) -> int:
    """A fresh dataset with one uploaded source: the million votes and the items' texts."""
    dataset, _ = build_bench.load(FAST_RULES, "perf-content", items=items)
    return dataset.pk


def run_child(dataset_id: int, out: str) -> None:
    """Run in a fresh process: one build and its Hugging Face folder; print figures as JSON."""
    setup_django()
    from benchmarks.models import Dataset
    from benchmarks.services import version_build, version_export_write

    dataset = Dataset.objects.get(pk=dataset_id)
    started = time.perf_counter()
    version = version_build(dataset=dataset, user=None)
    build = time.perf_counter() - started
    build_peak = peak_rss()
    started = time.perf_counter()
    written = version_export_write(version=version, fmt="hf", out=Path(out))
    export = time.perf_counter() - started
    peak = peak_rss()
    print(
        json.dumps(
            {
                "build": build,
                "export": export,
                "seconds": build + export,
                "build_peak": build_peak,
                "peak": peak,
                "version_id": version.pk,
                "files": [str(p.relative_to(out)) for p in written],
                "bytes": sum(p.stat().st_size for p in written),
            }
        )
    )


def check_folder(out: Path, files: list[str]) -> str | None:
    """A problem with the Hugging Face folder, or None: every item, with its text, once."""
    import pyarrow.parquet as pq

    data = [out / f for f in files if f.startswith("data/") and f.endswith(".parquet")]
    if not data or "README.md" not in files:
        return f"the Hugging Face folder lacks its data files or card ({files})"
    rows = 0
    for path in data:
        meta = pq.read_metadata(path)
        if "text" not in meta.schema.names or "votes" not in meta.schema.to_arrow_schema().names:
            return f"{path.name} has no text or votes column"
        rows += meta.num_rows
    if rows != N_ITEMS:
        return f"the data files hold {rows:,} items, not {N_ITEMS:,}"
    return None


def run(dataset_id: int) -> dict:
    out = Path(tempfile.mkdtemp(prefix="chorus-perf-hf-"))
    try:
        done = subprocess.run(
            [sys.executable, __file__, "--run", str(dataset_id), str(out)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            print(done.stdout, done.stderr)
            raise SystemExit("the build or the export failed")
        result = json.loads(done.stdout.strip().splitlines()[-1])
        problem = check_folder(out, result["files"])
        if problem:
            raise SystemExit(f"wrong export: {problem}")
        return result
    finally:
        shutil.rmtree(out, ignore_errors=True)


def main() -> int:
    ensure_database()
    media = tempfile.mkdtemp(prefix="chorus-perf-content-media-")
    # The children inherit it: uploads and versions are written there and removed at the end.
    os.environ["MEDIA_ROOT"] = media
    try:
        return measure()
    finally:
        shutil.rmtree(media, ignore_errors=True)


def measure() -> int:
    setup_django()
    items = make_items()
    mean_chars = float(np.mean([len(t) for t in items.column("text").to_pylist()]))
    print(
        f"Uploading {N_ITEMS * RATERS:,} votes and {N_ITEMS:,} items (texts of "
        f"{mean_chars:.0f} characters on average) into {DB_NAME} ...",
        flush=True,
    )
    dataset_id = load(items)
    votes_copy = build_bench.copy_baseline(make_votes(), "perf_content_votes")
    items_copy = build_bench.copy_baseline(items, "perf_content_items")
    baseline = votes_copy + items_copy
    print(
        f"PostgreSQL COPY TO STDOUT (best of 3 each): votes {votes_copy:.2f} s + items "
        f"{items_copy:.2f} s = {baseline:.2f} s"
    )

    # Best of three runs, each a new version built and exported in a fresh process.
    runs = [run(dataset_id) for _ in range(RUNS)]
    best = min(runs, key=lambda r: r["seconds"])
    peak = max(r["peak"] for r in runs)
    build_peak = max(r["build_peak"] for r in runs)
    ratio = best["seconds"] / baseline
    for i, r in enumerate(runs, 1):
        print(
            f"  run {i}: build {r['build']:.2f} s + Hugging Face export {r['export']:.2f} s = "
            f"{r['seconds']:.2f} s; peak {r['peak'] / 1024**3:.2f} GB "
            f"({len(r['files'])} files, {r['bytes'] / 1024**2:.0f} MB)"
        )
    print(
        f"version build + Hugging Face export ({', '.join(FAST_RULES)}, with text): "
        f"{best['build']:.2f} s + {best['export']:.2f} s = {best['seconds']:.2f} s = "
        f"{ratio:.2f}x COPY (target <= {RATIO:.0f}x); peak memory {peak / 1024**3:.2f} GB, "
        f"{build_peak / 1024**3:.2f} GB after the build (target < 2 GB)"
    )

    missed = []
    if ratio > RATIO:
        missed.append(f"build + export {ratio:.2f}x COPY > {RATIO}x")
    if peak >= MEMORY_LIMIT:
        missed.append(f"peak memory {peak / 1024**3:.2f} GB >= 2 GB")
    if missed:
        print("MISSED: " + "; ".join(missed))
        return 1
    print("All targets met.")
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--run":
        run_child(int(sys.argv[2]), sys.argv[3])
        sys.exit(0)
    sys.exit(main())
