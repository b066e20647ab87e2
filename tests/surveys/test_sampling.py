"""Tests of surveys.sampling: sample sizes, allocation and seeded draws."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from surveys.sampling import allocate, draw, draw_replacements, sample_size

# --- sample_size ----------------------------------------------------------------------------


def test_sample_size_cochran_textbook_values():
    """Cochran's n0 = z² p(1-p) / e²: the usual published table values.

    Israel (1992), "Determining Sample Size", University of Florida IFAS Fact Sheet PEOD-6:
    e = 0.05 at 95 % with p = 0.5 gives 385; with N = 2,000 the finite population correction
    n = n0 / (1 + (n0 - 1) / N) gives 323. The 99 % / 5 % (664) and 95 % / 3 % (1,068) sizes are
    the standard ones of the same formula (z = 2.5758 and 1.96).
    """
    assert sample_size(0.05) == 385
    assert sample_size(0.05, population=2000) == 323
    assert sample_size(0.05, confidence=0.99) == 664
    assert sample_size(0.03) == 1068


def test_sample_size_design_effect_and_response_rate():
    # n0 = 1.959964² · 0.25 / 0.05² = 384.146; x deff 2 = 768.29 -> 769.
    assert sample_size(0.05, deff=2.0) == 769
    # 384.146 / 0.4 = 960.4 invitations -> 961.
    assert sample_size(0.05, response_rate=0.4) == 961
    # p = 0.2: 1.959964² · 0.16 / 0.0025 = 245.85 -> 246.
    assert sample_size(0.05, p=0.2) == 246
    # Small population: 384.146 / (1 + 383.146 / 100) = 79.5 -> 80.
    assert sample_size(0.05, population=100) == 80


@pytest.mark.parametrize(
    ("kwargs", "word"),
    [
        ({"margin": 0}, "margin"),
        ({"margin": 0.05, "confidence": 1.0}, "confidence"),
        ({"margin": 0.05, "p": 1.0}, "p must"),
        ({"margin": 0.05, "deff": 0}, "deff"),
        ({"margin": 0.05, "response_rate": 0}, "response_rate"),
        ({"margin": 0.05, "population": 0}, "population"),
    ],
)
def test_sample_size_rejects_bad_input(kwargs, word):
    with pytest.raises(ValueError, match=word):
        sample_size(**kwargs)


# --- allocate --------------------------------------------------------------------------------


def test_proportional_largest_remainder_by_hand():
    # 7 x (0.5, 0.3, 0.2) = 3.5, 2.1, 1.4 -> floors 3, 2, 1 (6); the 7th unit goes to the
    # largest remainder, A (.5).
    assert allocate({"A": 500, "B": 300, "C": 200}, 7) == {"A": 4, "B": 2, "C": 1}


def test_ties_go_to_earlier_strata():
    # 2 x 1/3 each: floors 0, two units for three equal remainders -> first two strata.
    assert allocate({"A": 1, "B": 1, "C": 1}, 2) == {"A": 1, "B": 1, "C": 0}
    assert allocate({"C": 1, "B": 1, "A": 1}, 2) == {"C": 1, "B": 1, "A": 0}
    # Equal allocation of 10 over three strata: 3.33 each -> the first gets the extra unit.
    assert allocate({"x": 50, "y": 900, "z": 7}, 10, method="equal") == {"x": 4, "y": 3, "z": 3}


def test_capacity_caps_and_reallocates_excess():
    # Shares 50, 2.5, 47.5; B holds only 2 -> fixed at 2; 98 shared by A and C in 1000:950:
    # 50.256, 47.744 -> floors 50, 47, the last unit to C (.744).
    quotas = allocate({"A": 1000, "B": 50, "C": 950}, 100, capacity={"A": 1000, "B": 2, "C": 950})
    assert quotas == {"A": 50, "B": 2, "C": 48}


def test_census_counts_cap_by_default():
    # Proportional shares of 30 over sizes 10 and 20 are exactly the sizes.
    assert allocate({"A": 10, "B": 20}, 30) == {"A": 10, "B": 20}
    # Cascading caps: 60 x (1, 1, 8)/10 = 6, 6, 48 but cells hold 2, 3, 100.
    # A and B are capped, C takes the remaining 55.
    assert allocate({"A": 10, "B": 10, "C": 80}, 60, capacity={"A": 2, "B": 3, "C": 100}) == {
        "A": 2,
        "B": 3,
        "C": 55,
    }


def test_minimum_then_proportional_by_hand():
    # 10 each first (30), then 70 x (1000, 50, 950)/2000 = 35, 1.75, 33.25 -> 35, 1, 33 (69),
    # the last unit to B (.75): 45, 12, 43.
    assert allocate({"A": 1000, "B": 50, "C": 950}, 100, minimum=10) == {"A": 45, "B": 12, "C": 43}
    # A cell smaller than the minimum gets everything it has.
    assert allocate({"A": 1000, "B": 4, "C": 1000}, 30, minimum=5) == {"A": 13, "B": 4, "C": 13}


def test_neyman_allocation_by_hand():
    # N_h S_h = 100, 300 -> 2.5, 7.5 -> floors 2, 7; tie of .5 goes to A (first).
    assert allocate({"A": 100, "B": 100}, 10, method="neyman", sd={"A": 1, "B": 3}) == {
        "A": 3,
        "B": 7,
    }


def test_quotas_always_sum_to_n_and_respect_capacity():
    rng = np.random.default_rng(3)
    for _ in range(200):
        h = int(rng.integers(1, 40))
        pop = pd.Series(rng.integers(0, 500, h), index=[f"s{i}" for i in range(h)])
        if pop.sum() == 0:
            continue
        cap = (pop * rng.uniform(0, 1, h)).round()
        n = int(rng.integers(0, int(cap.sum()) + 1))
        minimum = int(rng.integers(0, 3))
        if np.minimum(minimum, cap).sum() > n:
            continue
        quotas = allocate(pop, n, capacity=cap, minimum=minimum)
        q = pd.Series(quotas)
        assert int(q.sum()) == n
        assert (q <= cap).all()
        assert (q >= np.minimum(minimum, cap)).all()


def test_series_population_keeps_order():
    pop = pd.Series({"z": 10, "a": 10})
    assert list(allocate(pop, 3)) == ["z", "a"]
    assert allocate(pop, 3) == {"z": 2, "a": 1}


def test_allocate_errors():
    with pytest.raises(ValueError, match="exceeds the total capacity"):
        allocate({"A": 5, "B": 5}, 11)
    with pytest.raises(ValueError, match="exceeds the total capacity"):
        allocate({"A": 500, "B": 500}, 11, capacity={"A": 5, "B": 5})
    with pytest.raises(ValueError, match="minimum"):
        allocate({"A": 50, "B": 50}, 5, minimum=3)
    with pytest.raises(ValueError, match="sd is required"):
        allocate({"A": 50}, 5, method="neyman")
    with pytest.raises(ValueError, match="sd lacks strata"):
        allocate({"A": 50, "B": 5}, 5, method="neyman", sd={"A": 1})
    with pytest.raises(ValueError, match="method"):
        allocate({"A": 50}, 5, method="optimal")
    with pytest.raises(ValueError, match="population has negative"):
        allocate({"A": -1, "B": 5}, 1)
    with pytest.raises(ValueError, match="n must be"):
        allocate({"A": 5}, 2.5)


# --- draw ------------------------------------------------------------------------------------


@pytest.fixture
def frame():
    rng = np.random.default_rng(0)
    strata = np.repeat(["north", "south", "east"], [40, 30, 30])
    return pd.DataFrame({"pid": rng.permutation(100) + 1000, "region": strata})


def test_draw_meets_quotas_without_replacement(frame):
    quotas = {"north": 5, "south": 3, "east": 0}
    sample = draw(frame, quotas, seed=11, stratum_col="region")
    assert sample["region"].value_counts().to_dict() == {"north": 5, "south": 3}
    assert sample.index.is_unique
    assert set(sample.index) <= set(frame.index)


def test_draw_replays_with_same_seed_and_differs_with_another(frame):
    quotas = {"north": 5, "south": 3, "east": 4}
    a = draw(frame, quotas, seed=11, stratum_col="region")
    b = draw(frame, quotas, rng=np.random.default_rng(11), stratum_col="region")
    c = draw(frame, quotas, seed=12, stratum_col="region")
    assert a.index.tolist() == b.index.tolist()
    assert a.index.tolist() != c.index.tolist()


def test_draw_with_id_col_ignores_row_order(frame):
    quotas = {"north": 5, "south": 3, "east": 4}
    shuffled = frame.sample(frac=1.0, random_state=5)
    a = draw(frame, quotas, seed=2, stratum_col="region", id_col="pid")
    b = draw(shuffled, quotas, seed=2, stratum_col="region", id_col="pid")
    assert sorted(a["pid"]) == sorted(b["pid"])


def test_draw_is_uniform_within_strata(frame):
    # Each of the 40 northerners should be picked with probability 10/40: over 400 seeded
    # draws the counts are Binomial(400, 0.25) (mean 100, sd 8.66); all within 5 sd.
    rng = np.random.default_rng(99)
    hits = np.zeros(len(frame))
    for _ in range(400):
        picked = draw(frame, {"north": 10}, rng=rng, stratum_col="region")
        hits[picked.index] += 1
    north = hits[frame["region"] == "north"]
    assert north.sum() == 4000
    assert np.all(np.abs(north - 100) < 5 * 8.66)
    assert hits[frame["region"] != "north"].sum() == 0


def test_draw_errors(frame):
    with pytest.raises(ValueError, match="'east' \\(quota 31, available 30\\)"):
        draw(frame, {"east": 31}, seed=1, stratum_col="region")
    with pytest.raises(ValueError, match=r"seed or a numpy\.random\.Generator"):
        draw(frame, {"east": 1}, stratum_col="region")
    with pytest.raises(ValueError, match="absent from the frame"):
        draw(frame, {"west": 1}, seed=1, stratum_col="region")
    with pytest.raises(ValueError, match="no stratum column 'stratum'"):
        draw(frame, {"east": 1}, seed=1)
    with pytest.raises(ValueError, match="non-negative whole"):
        draw(frame, {"east": 1.5}, seed=1, stratum_col="region")


def test_replacements_come_from_same_stratum_and_exclude_drawn(frame):
    first = draw(frame, {"north": 30, "south": 10}, seed=4, stratum_col="region", id_col="pid")
    extra = draw_replacements(
        frame, first["pid"], {"north": 10, "south": 2}, seed=5, stratum_col="region", id_col="pid"
    )
    assert extra["region"].value_counts().to_dict() == {"north": 10, "south": 2}
    assert not set(extra["pid"]) & set(first["pid"])
    # The ten northerners left are exactly the ten replacements.
    north_left = set(frame.loc[frame["region"] == "north", "pid"]) - set(first["pid"])
    assert set(extra.loc[extra["region"] == "north", "pid"]) == north_left
    again = draw_replacements(
        frame, first["pid"], {"north": 10, "south": 2}, seed=5, stratum_col="region", id_col="pid"
    )
    assert again["pid"].tolist() == extra["pid"].tolist()


def test_replacements_errors(frame):
    first = draw(frame, {"north": 35}, seed=4, stratum_col="region")
    with pytest.raises(ValueError, match="'north' \\(quota 6, available 5\\)"):
        draw_replacements(frame, first.index, {"north": 6}, seed=1, stratum_col="region")
    with pytest.raises(ValueError, match="not index labels of frame"):
        draw_replacements(frame, [100000], {"north": 1}, seed=1, stratum_col="region")
