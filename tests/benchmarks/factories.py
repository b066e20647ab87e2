from __future__ import annotations

import io

import numpy as np
import pandas as pd

CATEGORIES = ["joy", "anger", "sadness"]


def vote_frame(n_items: int = 30, raters: int = 3, seed: int = 7) -> pd.DataFrame:
    """A small vote table: items i00.., voters from a pool of 6, a speaker per item."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n_items):
        voters = rng.choice(6, size=raters, replace=False)
        favourite = CATEGORIES[i % 3]
        for v in voters:
            label = favourite if rng.random() < 0.7 else CATEGORIES[int(rng.integers(0, 3))]
            rows.append(
                {
                    "item": f"i{i:02d}",
                    "voter": f"person-{v}",
                    "label": label,
                    "weight": 1.0,
                    "role": "primary",
                    "speaker": f"s{i % 10}",
                }
            )
    return pd.DataFrame(rows)


def csv_bytes(df: pd.DataFrame) -> bytes:
    return df.to_csv(index=False).encode()


def jsonl_bytes(df: pd.DataFrame) -> bytes:
    return df.to_json(orient="records", lines=True).encode()


def parquet_bytes(df: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    df.to_parquet(buf, index=False)
    return buf.getvalue()
