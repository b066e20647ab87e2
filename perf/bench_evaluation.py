"""Benchmark of scoring a model on a large version and of an endpoint run against the stub.

Run from the repository root:  python perf/bench_evaluation.py

Data, in a database of its own (``chorus_perf_evaluation`` on the server of ``DATABASE_URL``):
* scoring: the 1,000,000 votes of ``bench_benchmarks_build`` (200,000 items x 5 raters, 8
  categories), built into a version with majority, plurality, all-inclusive and soft labels;
  a model's labels agree with the plurality on about 70% of items (seeded);
* endpoint: an uploaded version of 4,000 five-option questions (3 votes each), asked of
  ``evaluation.stub.StubServer`` on 127.0.0.1 (``python -m evaluation.stub``, in a process of
  its own) answering each request after 20 ms, through an endpoint configured for 8
  concurrent requests.

Targets:
* ``score_predictions`` of the 200,000 items (every rule side by side, each headline with a
  1,000-resample bootstrap interval of macro-F1 and accuracy, multi-label and soft scores, the
  bias report) in under 10 s; the kernel alone (scikit-learn's scores and the bootstrap of
  macro-F1) is printed too;
* the endpoint run (``endpoint_run_execute``: every question asked, answers stored, the run
  scored) in under 60 s, with the peak number of requests in flight at the stub equal to the
  configured concurrency (never above it, and reached).
Exits with status 1 if a target is missed.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import bench_benchmarks_build as build_bench
import numpy as np
from bench_benchmarks_build import CATEGORIES, FAST_RULES, N_ITEMS

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DB_NAME = "chorus_perf_evaluation"
SCORE_SECONDS = 10.0
N_BOOT = 1000
N_QUESTIONS = 4_000
CONCURRENCY = 8
STUB_DELAY = 0.02
RUN_SECONDS = 60.0


def setup_django() -> None:
    build_bench.setup_django(DB_NAME, "/tmp/chorus-perf-evaluation-media")


def model_labels(items, seed: int = 7) -> list[str]:
    """The plurality label on 70% of items, another category elsewhere."""
    rng = np.random.default_rng(seed)
    truth = items["plurality.label"].astype(object).to_numpy()
    guess = np.asarray(CATEGORIES, dtype=object)[rng.integers(0, len(CATEGORIES), len(truth))]
    keep = (rng.random(len(truth)) < 0.7) & np.array([isinstance(t, str) for t in truth])
    return list(np.where(keep, truth, guess))


def bench_scoring() -> tuple[float, float]:
    import pandas as pd

    from benchmarks.selectors import version_items
    from benchmarks.services import version_build
    from evaluation import metrics
    from evaluation.services import scoring

    assert scoring.N_BOOT == N_BOOT
    print(f"Loading {N_ITEMS * build_bench.RATERS:,} votes and building a version ...", flush=True)
    dataset, _ = build_bench.load(FAST_RULES, "perf-evaluation")
    version = version_build(dataset=dataset, user=None)
    items = version_items(version=version)
    predictions = pd.DataFrame(
        {"item": items["item"].astype(str), "label": model_labels(items)}
    ).assign(labels=None, probs=None)

    truth = pd.Index(CATEGORIES).get_indexer(items["plurality.label"].astype(object))
    pred = pd.Index(CATEGORIES).get_indexer(predictions["label"])
    keep = truth >= 0
    started = time.perf_counter()
    metrics.classification(truth[keep], pred[keep], len(CATEGORIES))
    interval = metrics.bootstrap_classification(
        truth[keep], pred[keep], len(CATEGORIES), n_boot=N_BOOT, seed=0
    )
    kernel = time.perf_counter() - started
    print(
        f"kernel: scores + {N_BOOT:,} bootstrap resamples of macro-F1 on {int(keep.sum()):,} "
        f"items: {kernel:.2f} s (macro-F1 {interval.estimate:.3f} "
        f"[{interval.low:.3f}, {interval.high:.3f}])"
    )
    best = float("inf")
    for _ in range(2):
        started = time.perf_counter()
        scores = scoring.score_predictions(version=version, predictions=predictions)
        best = min(best, time.perf_counter() - started)
    head = scores["headline"]
    print(
        f"score_predictions of {len(items):,} items (best of 2): {best:.2f} s "
        f"(target < {SCORE_SECONDS:.0f} s); headline {head['metric']} ({head['rule']}) "
        f"{head['estimate']:.3f} [{head['low']:.3f}, {head['high']:.3f}]"
    )
    return kernel, best


def question_files() -> tuple[bytes, bytes]:
    rng = np.random.default_rng(11)
    options = ["1", "2", "3", "4", "5"]
    texts = ["Strongly disagree", "Disagree", "Neither", "Agree", "Strongly agree"]
    votes = ["item,voter,label"]
    items = ["item,question,options,option_texts_en"]
    for i in range(N_QUESTIONS):
        key = f"q{i:05d}"
        for v in rng.choice(50, size=3, replace=False):
            votes.append(f"{key},p{v:02d},{options[int(rng.integers(0, 5))]}")
        wording = f"Statement {i}: people in my town can be trusted."
        items.append(
            f'{key},{wording},"{json.dumps(options).replace(chr(34), chr(34) * 2)}",'
            f'"{json.dumps(texts).replace(chr(34), chr(34) * 2)}"'
        )
    return ("\n".join(votes) + "\n").encode(), ("\n".join(items) + "\n").encode()


def bench_endpoint() -> tuple[float, int, float]:
    from accounts.models import User
    from accounts.services import study_create
    from benchmarks.models import Dataset
    from benchmarks.services import dataset_create, source_upload_create, version_build
    from evaluation.models import Prediction
    from evaluation.services.endpoints import (
        endpoint_create,
        endpoint_run_create,
        endpoint_run_execute,
    )

    user, _ = User.objects.get_or_create(username="perf-evaluation")
    Dataset.objects.filter(name="perf-endpoint").delete()
    study = study_create(user=user, name="Perf endpoint")
    dataset = dataset_create(
        study=study,
        user=user,
        name="perf-endpoint",
        categories=["1", "2", "3", "4", "5"],
        rules=["plurality", "soft"],
        parameters={"tie_policy": "drop", "seed": 0, "agreement_boot": 0},
        split_fractions={"test": 1.0},
        split_stratify="",
    )
    votes, items = question_files()
    source_upload_create(
        dataset=dataset,
        file_name="votes.csv",
        content=votes,
        items_name="items.csv",
        items_content=items,
    )
    version = version_build(dataset=dataset, user=user)
    # The stub runs in a process of its own, so it does not share the interpreter lock with
    # the run it answers.
    server = subprocess.Popen(
        [sys.executable, "-m", "evaluation.stub", "--seed", "1", "--delay", str(STUB_DELAY)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        url = (server.stdout.readline() if server.stdout else "").strip()
        endpoint = endpoint_create(
            study=study,
            user=user,
            name="stub",
            url=url,
            model="stub-1",
            max_concurrency=CONCURRENCY,
            timeout_seconds=10.0,
            max_retries=2,
        )
        run = endpoint_run_create(dataset=dataset, version=version, endpoint=endpoint, user=user)
        started = time.perf_counter()
        run = endpoint_run_execute(run=run)
        seconds = time.perf_counter() - started
        stats_url = url.split("/v1/")[0] + "/stats"
        with urllib.request.urlopen(stats_url, timeout=10) as response:
            stats = json.loads(response.read())
        peak, requests = stats["max_active"], stats["requests"]
    finally:
        server.terminate()
        server.wait(timeout=10)
    stored = Prediction.objects.filter(run=run, error="").count()
    mean_active = requests * STUB_DELAY / seconds
    print(
        f"endpoint run over {N_QUESTIONS:,} questions, {CONCURRENCY} concurrent requests "
        f"configured, {STUB_DELAY * 1000:.0f} ms per answer: {seconds:.2f} s "
        f"(target < {RUN_SECONDS:.0f} s); {requests:,} requests, peak {peak} in flight at the "
        f"stub, {mean_active:.1f} on average; {stored:,} answers stored, {run.n_failed} failed; "
        f"headline {run.scores['headline']['metric']} {run.scores['headline']['estimate']:.3f}"
    )
    if stored != N_QUESTIONS:
        raise SystemExit(f"only {stored} of {N_QUESTIONS} answers were stored")
    return seconds, peak, mean_active


def main() -> int:
    build_bench.ensure_database(DB_NAME)
    setup_django()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    _kernel, scoring_seconds = bench_scoring()
    run_seconds, peak, _mean = bench_endpoint()
    missed = []
    if scoring_seconds >= SCORE_SECONDS:
        missed.append(f"scoring {scoring_seconds:.2f} s >= {SCORE_SECONDS:.0f} s")
    if run_seconds >= RUN_SECONDS:
        missed.append(f"endpoint run {run_seconds:.2f} s >= {RUN_SECONDS:.0f} s")
    if peak != CONCURRENCY:
        missed.append(f"peak concurrency {peak} != the configured {CONCURRENCY}")
    if missed:
        print("MISSED: " + "; ".join(missed))
        return 1
    print("All targets met.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
