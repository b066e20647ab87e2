"""Benchmark of the seeded stratified draw in surveys.sampling.

Run from the repository root:  python perf/bench_survey_draw.py

Data: a sampling frame of 1,000,000 people in 170 cells (cell sizes drawn from a skewed
distribution), quotas for a sample of 10,000 from ``allocate`` (proportional). Seeded.

Targets:
* ``allocate`` + ``draw`` of 10,000 people, and ``draw_replacements`` of 2,000 more, each in
  under 2 s;
* the same seed gives the same sample, quotas are met exactly per cell and replacements never
  repeat anyone already drawn.
Exits with status 1 if a target is missed.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from surveys.sampling import allocate, draw, draw_replacements

FRAME = 1_000_000
CELLS = 170
SAMPLE = 10_000
TARGET_S = 2.0


def make_frame(seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    share = rng.gamma(0.8, size=CELLS)
    cells = rng.choice(CELLS, size=FRAME, p=share / share.sum())
    return pd.DataFrame(
        {
            "panelist": rng.permutation(FRAME),
            "stratum": pd.Categorical([f"cell-{c:03d}" for c in range(CELLS)])[cells],
            "age": rng.integers(18, 90, FRAME),
        }
    )


def main() -> int:
    frame = make_frame()
    census = frame["stratum"].value_counts(sort=False)
    timings: dict[str, float] = {}

    started = time.perf_counter()
    quotas = allocate(census, SAMPLE)
    sample = draw(frame, quotas, seed=42)
    timings["allocate + draw 10,000"] = time.perf_counter() - started

    again = draw(frame, quotas, seed=42)
    same_seed = bool(sample.index.equals(again.index))
    counts = sample["stratum"].value_counts()
    exact = all(int(counts.get(h, 0)) == q for h, q in quotas.items()) and len(sample) == SAMPLE

    missing = {h: max(1, q // 5) for h, q in quotas.items() if q}
    want = sum(missing.values())
    started = time.perf_counter()
    extra = draw_replacements(frame, sample.index, missing, seed=43)
    timings[f"draw_replacements {want:,}"] = time.perf_counter() - started
    disjoint = not extra.index.isin(sample.index).any() and len(extra) == want

    print(f"frame: {FRAME:,} people, {CELLS} cells, sample {SAMPLE:,}")
    for name, seconds in timings.items():
        print(f"{name:<32} {seconds * 1000:8.1f} ms  (target < {TARGET_S * 1000:.0f} ms)")
    print(f"{'same seed, same sample':<32} {same_seed}")
    print(f"{'quotas met exactly':<32} {exact}")
    print(f"{'replacements are new people':<32} {disjoint}")
    ok = all(t < TARGET_S for t in timings.values()) and same_seed and exact and disjoint
    print("targets met" if ok else "TARGET MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
