"""Tests of surveys.representativeness: achieved vs population shares and chi-square fit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from surveys.representativeness import compare_shares, representativeness


def _peas() -> pd.Series:
    return pd.Series(
        ["round-yellow"] * 315
        + ["round-green"] * 108
        + ["wrinkled-yellow"] * 101
        + ["wrinkled-green"] * 32,
        name="pea",
    )


MENDEL = {"round-yellow": 9, "round-green": 3, "wrinkled-yellow": 3, "wrinkled-green": 1}


def test_chi_square_matches_mendel_textbook_example():
    """Mendel's dihybrid cross, 556 F2 peas 315/108/101/32 against 9:3:3:1: X² = 0.470 on
    3 df, P = 0.925 (the classic goodness-of-fit example, e.g. Sokal & Rohlf, *Biometry*)."""
    res = compare_shares(_peas(), MENDEL)
    assert res.n == 556
    assert res.df == 3
    assert round(res.chi2, 3) == 0.470
    assert round(res.p_value, 3) == 0.925
    # E = 556 x 9/16 = 312.75 and (315 - 312.75)² / 312.75 + ... written out:
    by_hand = (2.25**2 / 312.75) + (3.75**2 / 104.25) + (3.25**2 / 104.25) + (2.75**2 / 34.75)
    assert res.chi2 == pytest.approx(by_hand, rel=1e-12)
    t = res.table
    assert t.loc["round-yellow", "count"] == 315
    assert t.loc["round-yellow", "expected"] == pytest.approx(312.75)
    assert t.loc["wrinkled-green", "achieved_share"] == pytest.approx(32 / 556)
    assert t.loc["wrinkled-green", "population_share"] == pytest.approx(1 / 16)
    assert t.loc["wrinkled-green", "difference"] == pytest.approx(32 / 556 - 1 / 16)
    # Largest gap: round-green, 108/556 - 3/16 = 0.006745.
    assert res.max_abs_difference == pytest.approx(108 / 556 - 3 / 16)


def test_weighted_shares_and_missing_values():
    values = pd.Series(["a", "a", "b", None, "b"])
    res = compare_shares(values, {"a": 60, "b": 40}, weights=np.array([1.0, 1.0, 2.0, 9.0, 4.0]))
    # Weighted: a = 2 / 8, b = 6 / 8; the missing answer (weight 9) counts nowhere.
    assert res.table["achieved_share"].to_dict() == {"a": 0.25, "b": 0.75}
    assert res.n == 4
    # The test uses the unweighted counts 2, 2 against 2.4, 1.6.
    assert res.chi2 == pytest.approx(0.4**2 / 2.4 + 0.4**2 / 1.6)


def test_population_category_without_respondent_counts_as_zero():
    res = compare_shares(pd.Series(["x"] * 10), {"x": 1, "y": 1})
    assert res.table.loc["y", "count"] == 0
    assert res.chi2 == pytest.approx(10.0)  # (10-5)²/5 + (0-5)²/5


def test_summary_over_variables():
    sample = pd.DataFrame({"pea": _peas(), "w": 1.0})
    sample["half"] = np.where(np.arange(556) < 278, "first", "second")
    out = representativeness(
        sample, {"pea": MENDEL, "half": {"first": 1, "second": 1}}, weights="w"
    )
    assert out["variable"].tolist() == ["pea", "half"]
    assert out.loc[1, "chi2"] == 0.0
    assert out.loc[1, "p_value"] == 1.0
    assert out.loc[0, "df"] == 3


def test_errors():
    with pytest.raises(ValueError, match="'pea' has categories absent from the population"):
        compare_shares(_peas(), {"round-yellow": 1})
    with pytest.raises(ValueError, match="population share 0"):
        compare_shares(pd.Series(["a", "b"], name="v"), {"a": 1, "b": 0})
    with pytest.raises(ValueError, match="sample has no column 'age'"):
        representativeness(pd.DataFrame({"sex": ["f"]}), {"age": {"18-29": 1}})
    with pytest.raises(ValueError, match="weights for 'v' must have one value per respondent"):
        compare_shares(pd.Series(["a"], name="v"), {"a": 1}, weights=np.ones(3))
