"""Benchmark of surveys.weighting.estimate_proportions_many against the ``svy`` package.

Run from the repository root:  python perf/bench_survey_estimation.py [--questions N]

Data: 1,000 respondents in 50 strata (10 to 30 respondents each, population sizes 20 to 100
times larger), weights N_h / n_h perturbed by a uniform factor in [0.7, 1.3], and 4,000
single-choice questions with 2 to 6 options. Seeded, so every run sees the same answers.

Targets (measured in the same run, on the same machine):
* option shares, standard errors and logit intervals for every option of all 4,000 questions
  at least 10x faster than ``svy``'s ``Sample.estimation.prop`` called once per question (the
  way a per-question report asks for them). svy is timed on the first 100 questions and the
  per-question time is extrapolated to 4,000 (stated in the output);
* estimates, standard errors and interval bounds within 1e-6 of svy's on those 100 questions.

svy is a yardstick only; see perf/requirements.txt for how to install it.
Exits with status 1 if a target is missed.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from surveys.weighting import estimate_proportions_many, survey_design

SPEED_TARGET = 10.0
AGREEMENT = 1e-6
SVY_QUESTIONS = 100


def make_data(n_questions: int, seed: int = 20260) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    n_strata = 50
    sizes = rng.integers(10, 31, n_strata)
    sizes = np.round(sizes * 1000 / sizes.sum()).astype(int)
    sizes[-1] += 1000 - sizes.sum()
    strata = np.repeat(np.arange(n_strata), sizes)
    population = (sizes * rng.integers(20, 101, n_strata)).astype(float)
    weights = (population / sizes)[strata] * rng.uniform(0.7, 1.3, strata.size)
    k = rng.integers(2, 7, n_questions)
    answers = np.floor(rng.random((strata.size, n_questions)) ** 1.5 * k).astype(np.int64)
    return {
        "strata": strata,
        "fpc": population[strata],
        "weights": weights,
        "answers": answers,
        "k": k,
    }


def run_ours(data: dict[str, np.ndarray]) -> tuple[float, object]:
    started = time.perf_counter()
    design = survey_design(weights=data["weights"], strata=data["strata"], fpc=data["fpc"])
    result = estimate_proportions_many(data["answers"], design)
    return time.perf_counter() - started, result


def run_svy(data: dict[str, np.ndarray], n_questions: int) -> tuple[float, list[object]]:
    import polars as pl
    import svy

    columns = {f"q{j}": data["answers"][:, j] for j in range(n_questions)}
    frame = pl.DataFrame({"s": data["strata"], "w": data["weights"], "N": data["fpc"], **columns})
    sample = svy.Sample(frame, svy.Design(stratum="s", wgt="w", pop_size="N"))
    sample.estimation.prop("q0")  # warm-up: first call builds caches
    started = time.perf_counter()
    results = [sample.estimation.prop(f"q{j}").to_polars() for j in range(n_questions)]
    return time.perf_counter() - started, results


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=4000)
    args = parser.parse_args(argv)
    data = make_data(args.questions)
    ours_s, ours = run_ours(data)
    ours_s = min(ours_s, run_ours(data)[0])
    print(f"questions: {args.questions}, respondents: {data['weights'].size}, strata: 50")
    print(f"{'chorus estimate_proportions_many (all questions)':<52} {ours_s * 1000:10.1f} ms")
    try:
        n_svy = min(SVY_QUESTIONS, args.questions)
        svy_s, svy_results = run_svy(data, n_svy)
    except ImportError:
        print("svy is not installed (pip install -r perf/requirements.txt): target not checked")
        return 1
    per_q = svy_s / n_svy
    svy_all = per_q * args.questions
    print(
        f"{'svy estimation.prop, measured on ' + str(n_svy) + ' questions':<52} "
        f"{svy_s * 1000:10.1f} ms ({per_q * 1000:.2f} ms/question)"
    )
    print(f"{'svy extrapolated to all questions':<52} {svy_all * 1000:10.1f} ms")
    ratio = svy_all / ours_s
    print(f"{'speed-up':<52} {ratio:10.1f} x (target >= {SPEED_TARGET:g} x)")
    worst = 0.0
    for j, frame in enumerate(svy_results):
        codes = frame[f"q{j}"].to_numpy()
        for col, ours_arr in (
            ("est", ours.estimate),
            ("se", ours.se),
            ("lci", ours.ci_low),
            ("uci", ours.ci_high),
        ):
            diff = np.abs(frame[col].to_numpy() - ours_arr[j, codes])
            worst = max(worst, float(diff.max()))
    print(
        f"{'largest |difference| to svy (est, se, lci, uci)':<52} {worst:10.2e} "
        f"(target <= {AGREEMENT:g})"
    )
    ok = ratio >= SPEED_TARGET and worst <= AGREEMENT
    print("targets met" if ok else "TARGET MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
