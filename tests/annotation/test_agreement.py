"""Tests of annotation.agreement against published values and reference implementations.

Sources:
* Krippendorff, K. (2011). "Computing Krippendorff's Alpha-Reliability", Annenberg School for
  Communication, University of Pennsylvania: the 4 observers x 12 units example with missing
  values, alpha = 0.743 (nominal), 0.815 (ordinal), 0.849 (interval); the ratio figure 0.797
  is the documented output of the ``krippendorff`` package (doctest of ``krippendorff.alpha``)
  on the same data.
* Wikipedia, "Krippendorff's alpha", computational example (3 coders x 15 units):
  nominal 0.691, as documented in the ``krippendorff`` package doctest (0.691358; interval
  0.810845).
* Fleiss, J. L. (1971), as reproduced in Wikipedia's "Fleiss' kappa" worked example: 10
  subjects, 14 raters, 5 categories, kappa = 0.210 (also statsmodels' test of ``fleiss_kappa``).
* Wikipedia, "Cohen's kappa", simple example: 50 proposals, yes/yes 20, yes/no 5, no/yes 10,
  no/no 15 -> p_o = 0.7, p_e = 0.5, kappa = 0.4. SAS PROC FREQ output for the 3x3 table
  [[0, 4, 1], [0, 8, 0], [0, 1, 5]]: simple kappa 0.4842 (statsmodels' test of ``cohens_kappa``).
"""

from __future__ import annotations

import krippendorff
import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.inter_rater import cohens_kappa as sm_cohens_kappa
from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss_kappa

from annotation import agreement as ag

NAN = np.nan

# Krippendorff (2011), observers A-D (rows) x units 1-12 (columns); NaN = not coded.
K2011 = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, NAN, NAN, NAN],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, NAN, 3],
    [NAN, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, NAN],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, NAN],
]

# Wikipedia "Krippendorff's alpha" computational example, coders A-C x units 1-15.
WIKI_ALPHA = [
    [NAN, NAN, NAN, NAN, NAN, 3, 4, 1, 2, 1, 1, 3, 3, NAN, 3],
    [1, NAN, 2, 1, 3, 3, 4, 3, NAN, NAN, NAN, NAN, NAN, NAN, NAN],
    [NAN, NAN, 2, 1, 3, 4, 4, NAN, 2, 1, 1, 3, 3, NAN, 4],
]

# Fleiss (1971) / Wikipedia: counts of 14 raters per subject over 5 categories.
FLEISS_TABLE = [
    [0, 0, 0, 0, 14],
    [0, 2, 6, 4, 2],
    [0, 0, 3, 5, 6],
    [0, 3, 9, 2, 0],
    [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0],
    [3, 2, 6, 3, 0],
    [2, 5, 3, 2, 2],
    [6, 5, 2, 1, 0],
    [0, 2, 2, 3, 7],
]


def votes_from_matrix(matrix, voters=None, **extra) -> pd.DataFrame:
    """Raters x units matrix (NaN = missing) -> vote table, missing ratings left out."""
    arr = np.asarray(matrix, dtype=object)
    voters = voters or [f"r{i}" for i in range(arr.shape[0])]
    rows = [
        {"item": f"u{u:02d}", "voter": voters[i], "label": arr[i, u], **extra}
        for i in range(arr.shape[0])
        for u in range(arr.shape[1])
        if not (isinstance(arr[i, u], float) and np.isnan(arr[i, u]))
    ]
    return pd.DataFrame(rows)


def votes_from_counts(table) -> pd.DataFrame:
    """Items x categories count table -> vote table with distinct raters per item."""
    rows = []
    for i, counts in enumerate(table):
        rater = 0
        for cat, n in enumerate(counts):
            for _ in range(n):
                rows.append({"item": i, "voter": f"r{rater}", "label": f"c{cat}"})
                rater += 1
    return pd.DataFrame(rows)


def votes_from_confusion(table) -> pd.DataFrame:
    """Two raters' square confusion table -> vote table (one item per counted pair)."""
    rows, item = [], 0
    for a, row in enumerate(table):
        for b, n in enumerate(row):
            for _ in range(n):
                rows.append({"item": item, "voter": "A", "label": a})
                rows.append({"item": item, "voter": "B", "label": b})
                item += 1
    return pd.DataFrame(rows)


# --- Krippendorff's alpha ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("level", "published"),
    [("nominal", 0.743), ("ordinal", 0.815), ("interval", 0.849), ("ratio", 0.797)],
)
def test_alpha_matches_krippendorff_2011_worked_example(level, published):
    """Krippendorff (2011) example: nominal .743, ordinal .815, interval .849 (ratio .797 from
    the krippendorff package's documented output on the same data)."""
    votes = votes_from_matrix(K2011)
    value = ag.krippendorff_alpha(votes, level=level)
    assert round(value, 3) == published
    reference = krippendorff.alpha(reliability_data=np.array(K2011), level_of_measurement=level)
    assert value == pytest.approx(reference, abs=1e-12)


def test_alpha_matches_wikipedia_computational_example():
    """Wikipedia 'Krippendorff's alpha' example: nominal 0.691 (package doctest: 0.691358 and
    interval 0.810845)."""
    votes = votes_from_matrix(WIKI_ALPHA)
    assert round(ag.krippendorff_alpha(votes, level="nominal"), 6) == 0.691358
    assert round(ag.krippendorff_alpha(votes, level="interval"), 6) == 0.810845


def test_alpha_ordinal_with_named_categories_needs_and_uses_value_order():
    """The krippendorff package doctest: the 2011 data as 'very low' .. 'very high' labels give
    ordinal 0.815 with the ordered value domain."""
    names = {1: "very low", 2: "low", 3: "mid", 4: "high", 5: "very high"}
    named = [[names[v] if v == v else NAN for v in row] for row in K2011]
    votes = votes_from_matrix(named)
    order = ["very low", "low", "mid", "high", "very high"]
    assert round(ag.krippendorff_alpha(votes, level="ordinal", value_order=order), 3) == 0.815
    assert round(ag.krippendorff_alpha(votes, level="nominal"), 3) == 0.743
    with pytest.raises(ValueError, match="numeric labels"):
        ag.krippendorff_alpha(votes, level="ordinal")


@pytest.mark.parametrize("level", ["nominal", "ordinal", "interval", "ratio"])
def test_alpha_equals_reference_implementation_on_random_sparse_data(level):
    """Cross-check against krippendorff.alpha on seeded data with 40% missing ratings."""
    rng = np.random.default_rng(11)
    truth = rng.integers(1, 6, size=60)
    noise = rng.integers(-1, 2, size=(7, 60)) * (rng.random((7, 60)) < 0.4)
    matrix = np.clip(truth + noise, 1, 5).astype(float)
    matrix[rng.random(matrix.shape) < 0.4] = np.nan
    votes = votes_from_matrix(matrix)
    reference = krippendorff.alpha(reliability_data=matrix, level_of_measurement=level)
    assert ag.krippendorff_alpha(votes, level=level) == pytest.approx(reference, abs=1e-12)


def test_alpha_result_ingredients_for_the_2011_example():
    """Krippendorff (2011): 11 pairable units (unit 12 has one value), n = 40 pairable values.
    D_o = 0.2 and D_e = 0.7795 follow from the coincidences (1 - 0.2 / 0.7795 = 0.743)."""
    assert round(0.2 / (1 - 0.743), 3) == 0.778  # the published alpha implies D_e of about 0.78
    res = ag.krippendorff_alpha_bootstrap(
        votes_from_matrix(K2011), level="nominal", rng=None, n_boot=0
    )
    assert (res.n_items, res.n_values, res.n_voters) == (11, 40, 4)
    assert res.observed == pytest.approx(0.2, abs=1e-12)
    assert res.expected == pytest.approx(0.2 / (1 - res.alpha), abs=1e-12)
    assert res.n_boot == 0 and np.isnan(res.ci_low)


def test_coincidence_matrix_follows_the_definition():
    """Coincidences of the 2011 data by Krippendorff's definition. Unit 6 has values 1, 2, 3, 4
    once each, so it adds 1/3 to every off-diagonal cell among them; unit 2 (2, 2, 3, 2) adds
    6/3 to o[2,2] and 3/3 to o[2,3] and o[3,2]. Row sums are the pairable values per value:
    9, 13, 10, 5, 3 (n = 40)."""
    o = ag.coincidence_matrix(votes_from_matrix(K2011))
    assert list(o.index) == [1, 2, 3, 4, 5]
    assert o.sum(axis=1).tolist() == pytest.approx([9, 13, 10, 5, 3])
    assert o.to_numpy() == pytest.approx(o.to_numpy().T)
    assert o.loc[1, 2] == pytest.approx(4 / 3)  # units 6 and 8
    assert o.loc[2, 3] == pytest.approx(4 / 3)  # units 2 and 6
    assert o.loc[5, 5] == pytest.approx(3.0)  # units 10: 5, 5, 5
    assert o.loc[4, 4] == pytest.approx(4.0)  # unit 7: 4, 4, 4, 4


def test_alpha_is_nan_when_undefined():
    no_variation = pd.DataFrame({"item": [1, 1, 2, 2], "voter": ["a", "b"] * 2, "label": "x"})
    assert np.isnan(ag.krippendorff_alpha(no_variation, level="nominal"))
    unpaired = pd.DataFrame({"item": [1, 2, 3], "voter": ["a", "b", "c"], "label": [1, 2, 3]})
    res = ag.krippendorff_alpha_bootstrap(unpaired, level="interval", rng=None, n_boot=0)
    assert np.isnan(res.alpha) and res.n_items == 0


def test_alpha_perfect_and_systematic_disagreement():
    perfect = votes_from_matrix([[1, 2, 3, 1], [1, 2, 3, 1]])
    assert ag.krippendorff_alpha(perfect, level="nominal") == 1.0
    # Two coders who always disagree on two values: D_o = 1 > D_e, so alpha < 0.
    opposite = votes_from_matrix([[1, 2, 1, 2], [2, 1, 2, 1]])
    assert ag.krippendorff_alpha(opposite, level="nominal") == pytest.approx(1 - 7 / 4)


def test_roles_select_primary_rows_by_default():
    votes = votes_from_matrix(K2011, role="primary")
    noise = votes.assign(role="secondary", label=9)
    both = pd.concat([votes, noise], ignore_index=True)
    assert ag.krippendorff_alpha(both, level="nominal") == pytest.approx(0.743421052631579)
    # The secondary rows all say 9: no variation, so alpha is undefined there.
    assert np.isnan(ag.krippendorff_alpha(both, level="nominal", roles="secondary"))
    with pytest.raises(ValueError, match="repeated"):
        ag.krippendorff_alpha(both, level="nominal", roles=None)


# --- bootstrap ---------------------------------------------------------------------------------


def test_bootstrap_is_reproducible_and_brackets_the_estimate():
    votes = votes_from_matrix(K2011)
    first = ag.krippendorff_alpha_bootstrap(
        votes, level="interval", rng=np.random.default_rng(5), n_boot=500
    )
    again = ag.krippendorff_alpha_bootstrap(
        votes, level="interval", rng=np.random.default_rng(5), n_boot=500
    )
    assert first.alpha == pytest.approx(0.8491071428571428)
    assert first.ci_low == again.ci_low and first.ci_high == again.ci_high
    assert first.ci_low < first.alpha <= first.ci_high <= 1.0
    assert first.n_boot == 500 and len(first.replicates) == 500
    assert 0.0 <= first.probability_below(0.8) <= 1.0


def test_bootstrap_replicate_equals_alpha_of_the_resampled_items():
    """One replicate must equal the alpha of the data with the drawn items repeated."""
    votes = votes_from_matrix(K2011)
    pairable = sorted(votes.groupby("item").filter(lambda g: len(g) > 1)["item"].unique())
    draw = np.random.default_rng(3).integers(0, len(pairable), size=(1, len(pairable)))[0]
    parts = [
        votes[votes["item"] == pairable[u]].assign(item=f"{pairable[u]}#{k}")
        for k, u in enumerate(draw)
    ]
    resampled = pd.concat(parts, ignore_index=True)
    # Interval distances do not depend on the marginals (ordinal ones stay those of the full
    # data in the bootstrap), so the replicate is exactly the alpha of the resampled table.
    res_i = ag.krippendorff_alpha_bootstrap(
        votes, level="interval", rng=np.random.default_rng(3), n_boot=1
    )
    assert res_i.replicates[0] == pytest.approx(
        ag.krippendorff_alpha(resampled, level="interval"), abs=1e-12
    )


def test_bootstrap_interval_narrows_with_more_items():
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 4, size=4000)
    matrix = np.where(rng.random((3, 4000)) < 0.7, truth, rng.integers(0, 4, size=(3, 4000)))
    small = votes_from_matrix(matrix[:, :200].astype(float))
    large = votes_from_matrix(matrix.astype(float))
    w_small = ag.krippendorff_alpha_bootstrap(
        small, level="nominal", rng=np.random.default_rng(1), n_boot=300
    )
    w_large = ag.krippendorff_alpha_bootstrap(
        large, level="nominal", rng=np.random.default_rng(1), n_boot=300
    )
    assert (w_large.ci_high - w_large.ci_low) < (w_small.ci_high - w_small.ci_low) / 2


def test_bootstrap_needs_a_generator():
    votes = votes_from_matrix(K2011)
    with pytest.raises(ValueError, match="rng"):
        ag.krippendorff_alpha_bootstrap(votes, level="nominal", rng=42, n_boot=10)
    with pytest.raises(ValueError, match="confidence"):
        ag.krippendorff_alpha_bootstrap(
            votes, level="nominal", rng=np.random.default_rng(0), confidence=95
        )


# --- Fleiss and Cohen --------------------------------------------------------------------------


def test_fleiss_kappa_matches_the_published_example_and_statsmodels():
    """Fleiss (1971) / Wikipedia worked example: kappa = 0.210."""
    votes = votes_from_counts(FLEISS_TABLE)
    value = ag.fleiss_kappa(votes)
    assert round(value, 3) == 0.210
    assert value == pytest.approx(sm_fleiss_kappa(np.array(FLEISS_TABLE)), abs=1e-12)
    table = ag.rating_table(votes)
    assert table.to_numpy().tolist() == FLEISS_TABLE


def test_fleiss_kappa_rejects_unequal_numbers_of_ratings():
    votes = votes_from_counts(FLEISS_TABLE).iloc[1:]
    with pytest.raises(ValueError, match="same number of ratings on every item; found between 13"):
        ag.fleiss_kappa(votes)


def test_cohen_kappa_table_matches_published_examples():
    """Wikipedia 2x2 example (kappa 0.4) and the SAS 3x3 example (0.4842)."""
    assert ag.cohen_kappa_table([[20, 5], [10, 15]]) == pytest.approx(0.4, abs=1e-12)
    sas = [[0, 4, 1], [0, 8, 0], [0, 1, 5]]
    assert round(ag.cohen_kappa_table(sas), 4) == 0.4842
    assert ag.cohen_kappa_table(sas) == pytest.approx(
        sm_cohens_kappa(np.array(sas), return_results=False), abs=1e-12
    )
    assert np.isnan(ag.cohen_kappa_table([[5, 0], [0, 0]]))
    with pytest.raises(ValueError, match="square"):
        ag.cohen_kappa_table([[1, 2, 3]])


def test_pairwise_cohen_kappa_on_the_wikipedia_example():
    """The 50 proposals of Wikipedia's example as a vote table: kappa 0.4 on 50 shared items."""
    votes = votes_from_confusion([[20, 5], [10, 15]])
    pairs = ag.pairwise_cohen_kappa(votes, min_shared=50)
    assert len(pairs) == 1
    row = pairs.iloc[0]
    assert (row["voter_a"], row["voter_b"], row["n_shared"]) == ("A", "B", 50)
    assert row["observed_agreement"] == pytest.approx(0.7)
    assert row["expected_agreement"] == pytest.approx(0.5)
    assert row["kappa"] == pytest.approx(0.4)
    assert ag.pairwise_cohen_kappa(votes, min_shared=51).empty


def test_pairwise_cohen_kappa_matches_per_pair_tables():
    """Each pair's kappa equals Cohen's kappa of its own crosstab on the shared items."""
    rng = np.random.default_rng(4)
    matrix = rng.integers(0, 3, size=(4, 80)).astype(float)
    matrix[rng.random(matrix.shape) < 0.3] = np.nan
    votes = votes_from_matrix(matrix)
    pairs = ag.pairwise_cohen_kappa(votes, min_shared=1)
    assert len(pairs) == 6
    wide = votes.pivot(index="item", columns="voter", values="label")
    for row in pairs.itertuples():
        both = wide[[row.voter_a, row.voter_b]].dropna()
        table = pd.crosstab(both[row.voter_a], both[row.voter_b]).reindex(
            index=[0, 1, 2], columns=[0, 1, 2], fill_value=0
        )
        assert row.n_shared == len(both)
        assert row.kappa == pytest.approx(ag.cohen_kappa_table(table), abs=1e-12)
    shared = ag.pairwise_matrix(pairs, value="n_shared")
    assert shared.loc["r0", "r1"] == shared.loc["r1", "r0"] == pairs.iloc[0]["n_shared"]
    assert shared.loc["r2", "r2"] == 0


# --- breakdowns --------------------------------------------------------------------------------


def test_per_category_one_vs_rest_alpha_equals_binary_alpha():
    """One-vs-rest alpha per category equals krippendorff.alpha on the recoded data."""
    votes = votes_from_matrix(K2011)
    table = ag.per_category_agreement(votes)
    assert table["category"].tolist() == [1, 2, 3, 4, 5]
    assert table["n_values"].tolist() == [9, 13, 10, 5, 3]
    data = np.array(K2011)
    for row in table.itertuples():
        binary = np.where(np.isnan(data), np.nan, (data == row.category).astype(float))
        expected = krippendorff.alpha(reliability_data=binary, level_of_measurement="nominal")
        assert row.alpha_one_vs_rest == pytest.approx(expected, abs=1e-12)
    # Category 5 appears only in unit 10, where all three values are 5.
    assert table.set_index("category").loc[5, "specific_agreement"] == 1.0


def test_per_label_alpha_equals_binary_alpha_per_label():
    """Multi-label: each label as present/absent among the raters of the item."""
    rows = [
        ("i1", "a", "joy"), ("i1", "a", "trust"), ("i1", "b", "joy"), ("i1", "c", "joy"),
        ("i1", "c", "trust"), ("i2", "a", "fear"), ("i2", "b", "fear"), ("i2", "b", "joy"),
        ("i3", "a", "trust"), ("i3", "b", "trust"), ("i3", "c", "joy"), ("i4", "c", "fear"),
    ]  # fmt: skip
    votes = pd.DataFrame(rows, columns=["item", "voter", "label"])
    out = ag.per_label_alpha(votes).set_index("label")
    raters = votes.groupby("item")["voter"].unique()
    for label in ["fear", "joy", "trust"]:
        matrix = np.full((3, 4), np.nan)
        for u, item in enumerate(["i1", "i2", "i3", "i4"]):
            for voter in raters[item]:
                chose = ((votes["item"] == item) & (votes["voter"] == voter)
                         & (votes["label"] == label)).any()  # fmt: skip
                matrix["abc".index(voter), u] = float(chose)
        expected = krippendorff.alpha(reliability_data=matrix, level_of_measurement="nominal")
        assert out.loc[label, "alpha"] == pytest.approx(expected, abs=1e-12)
    # joy: a, b, c on i1, b on i2, c on i3; i4 has one rater and is not pairable.
    assert out.loc["joy", "n_present"] == 5 and out.loc["joy", "n_items"] == 3


def test_alpha_by_group_uses_each_groups_own_raters():
    votes = votes_from_matrix(K2011)
    votes["group"] = votes["voter"].map({"r0": "g1", "r1": "g1", "r2": "g2", "r3": "g2"})
    out = ag.alpha_by(votes, by="group", level="nominal").set_index("group")
    for name, voters in {"g1": [0, 1], "g2": [2, 3]}.items():
        data = np.array(K2011)[voters]
        expected = krippendorff.alpha(reliability_data=data, level_of_measurement="nominal")
        assert out.loc[name, "alpha"] == pytest.approx(expected, abs=1e-12)
    with pytest.raises(ValueError, match="missing column"):
        ag.alpha_by(votes, by="cohort", level="nominal")


def test_alpha_over_time_puts_each_item_in_the_week_of_its_last_rating():
    votes = votes_from_matrix(K2011)
    early = votes["item"].isin(["u00", "u01", "u02", "u03", "u04", "u05"])
    votes["created"] = np.where(early, "2026-03-02T10:00:00Z", "2026-03-10T10:00:00Z")
    # One rating of unit 1 comes a week later: the whole item moves to the later week.
    votes.loc[(votes["item"] == "u00") & (votes["voter"] == "r0"), "created"] = (
        "2026-03-11T09:00:00Z"
    )
    out = ag.alpha_over_time(votes, level="nominal")
    assert out["period"].tolist() == [pd.Timestamp("2026-03-02"), pd.Timestamp("2026-03-09")]
    assert out["n_items"].tolist() == [5, 6]
    later = votes[~early | (votes["item"] == "u00")]
    assert out["alpha"].iloc[1] == pytest.approx(ag.krippendorff_alpha(later, level="nominal"))


def test_agreement_report_lists_what_it_includes():
    votes = votes_from_counts(FLEISS_TABLE)
    votes["group"] = np.where(votes["voter"].isin(["r0", "r1", "r2", "r3", "r4", "r5"]), "a", "b")
    report = ag.agreement_report(
        votes, level="nominal", rng=np.random.default_rng(0), n_boot=50, pairwise_min_shared=5
    )
    assert report.included() == [
        "alpha", "alpha_interval", "fleiss_kappa", "per_category", "by_group", "pairwise",
    ]  # fmt: skip
    assert round(report.fleiss_kappa, 3) == 0.210
    ragged = ag.agreement_report(
        votes.iloc[3:], level="nominal", rng=np.random.default_rng(0), n_boot=10,
        group_column=None,
    )  # fmt: skip
    assert ragged.included() == ["alpha", "alpha_interval", "per_category"]
    assert ragged.fleiss_kappa is None


# --- bad input ---------------------------------------------------------------------------------


def test_bad_input_raises_clear_errors():
    votes = votes_from_matrix(K2011)
    with pytest.raises(ValueError, match="unknown level of measurement 'likert'"):
        ag.krippendorff_alpha(votes, level="likert")
    with pytest.raises(ValueError, match="vote table is empty"):
        ag.krippendorff_alpha(votes.iloc[0:0], level="nominal")
    with pytest.raises(ValueError, match=r"missing column\(s\) \['voter'\]"):
        ag.krippendorff_alpha(votes.drop(columns="voter"), level="nominal")
    with pytest.raises(ValueError, match="expected a pandas DataFrame"):
        ag.krippendorff_alpha(K2011, level="nominal")
    with pytest.raises(ValueError, match="needs numeric labels"):
        ag.krippendorff_alpha(votes.assign(label="x"), level="interval")
    with pytest.raises(ValueError, match="non-negative"):
        ag.krippendorff_alpha(votes.assign(label=-votes["label"]), level="ratio")
    with pytest.raises(ValueError, match="repeated"):
        ag.krippendorff_alpha(pd.concat([votes, votes.iloc[:1]]), level="nominal")
    with pytest.raises(ValueError, match="no row has a role in"):
        ag.krippendorff_alpha(votes.assign(role="secondary"), level="nominal")
    with pytest.raises(ValueError, match="item: 1 row"):
        bad = votes.copy()
        bad.loc[0, "item"] = None
        ag.krippendorff_alpha(bad, level="nominal")
    with pytest.raises(ValueError, match="not in value_order"):
        ag.krippendorff_alpha(votes, level="ordinal", value_order=[1, 2, 3])
