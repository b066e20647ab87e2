"""Tests of surveys.weighting against R's survey package on the California API data.

Data: ``apistrat`` from R's survey package (Lumley), a stratified sample of 200 California
schools (strata: school type E/M/H, ``pw`` weights, ``fpc`` stratum population sizes), shipped
as tests/surveys/data/apistrat.csv (the columns used here). Expected values:

* "published": the outputs printed in the survey package's documentation and in Lumley (2010),
  *Complex Surveys: A Guide to Analysis Using R*, §2.4: ``svymean(~api00, dstrat)`` 662.29
  (SE 9.4089) and ``svytotal(~enroll, dstrat)`` 3,687,178 (SE 114,642);
* "R": full-precision outputs of R's survey 4.1-1 printed by
  tests/surveys/data/apistrat_reference.R (the script says how each number was produced).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from surveys.weighting import (
    CalibrationError,
    LonelyStratumError,
    RakingConvergenceError,
    design_variance,
    estimate_mean,
    estimate_proportions,
    estimate_proportions_many,
    estimate_quantile,
    estimate_total,
    kish_design_effect,
    kish_effective_n,
    logit_interval,
    poststratify,
    rake,
    survey_design,
    trim_weights,
)

DATA = Path(__file__).parent / "data" / "apistrat.csv"
REL = 1e-9

# Population counts from R's data(api) apipop (6,194 schools): table(apipop$awards) etc.
POP_AWARDS = {"No": 2027, "Yes": 4167}
POP_SCHWIDE = {"No": 1072, "Yes": 5122}
POP_COMPIMP = {"No": 1712, "Yes": 4482}


@pytest.fixture(scope="module")
def api() -> pd.DataFrame:
    return pd.read_csv(DATA)


@pytest.fixture(scope="module")
def dstrat(api):
    return survey_design(weights=api["pw"], strata=api["stype"], fpc=api["fpc"])


def approx(value, rel=REL):
    return pytest.approx(value, rel=rel)


# --- stratified design -----------------------------------------------------------------------


def test_published_mean_and_total(api, dstrat):
    """Published: svymean(~api00, dstrat) = 662.29 (SE 9.4089); svytotal(~enroll) = 3687178
    (SE 114642), R survey documentation / Lumley (2010) §2.4."""
    m = estimate_mean(api["api00"], dstrat)
    assert round(m.estimate, 2) == 662.29
    assert round(m.se, 4) == 9.4089
    t = estimate_total(api["enroll"], dstrat)
    assert round(t.estimate) == 3687178
    assert round(t.se) == 114642


def test_mean_and_total_full_precision(api, dstrat):
    """R: svymean(~api00, dstrat), svytotal(~enroll, dstrat), degf(dstrat) = 197."""
    m = estimate_mean(api["api00"], dstrat)
    assert m.estimate == approx(662.28736315932076)
    assert m.se == approx(9.40894080278458)
    assert m.df == 197
    assert m.n == 200
    t = estimate_total(api["enroll"], dstrat)
    assert t.estimate == approx(3687177.53243828)
    assert t.se == approx(114641.71610078)


def test_proportions_and_logit_interval(api, dstrat):
    """R: svymean(~sch.wide, dstrat) and svyciprop(~I(sch.wide=="Yes"), dstrat,
    method="logit"). svyciprop fits a glm, whose point estimate agrees to ~4e-10."""
    res = estimate_proportions(api["sch.wide"], dstrat).set_index("category")
    assert res.loc["No", "estimate"] == approx(0.1720519885841765)
    assert res.loc["Yes", "estimate"] == approx(0.8279480114158234)
    assert res.loc["Yes", "se"] == approx(0.0243447801130748)
    assert res.loc["No", "se"] == approx(0.0243447801130748)
    assert res.loc["Yes", "ci_low"] == pytest.approx(0.7745396543515681, abs=1e-8)
    assert res.loc["Yes", "ci_high"] == pytest.approx(0.8708148545445087, abs=1e-8)
    assert int(res.loc["Yes", "df"]) == 197
    awards = estimate_proportions(api["awards"], dstrat).set_index("category")
    assert awards.loc["Yes", "estimate"] == approx(0.6389360640505782)
    assert awards.loc["Yes", "se"] == approx(0.0344059179972689)


def test_item_nonresponse_is_a_domain(api, dstrat):
    """R: sch.wide set to NA for every 10th school, svymean(~sch.wide, na.rm=TRUE)."""
    gap = api["sch.wide"].copy()
    gap.iloc[::10] = np.nan
    res = estimate_proportions(gap, dstrat).set_index("category")
    assert res.loc["Yes", "estimate"] == approx(0.8162442982981316)
    assert res.loc["Yes", "se"] == approx(0.0265519327588714)
    assert int(res.loc["Yes", "n"]) == 180


def test_weight_summaries_by_hand():
    # Kish: w = 1, 1, 2, 4: (Σw)² / Σw² = 64 / 22; n Σw² / (Σw)² = 88 / 64.
    w = np.array([1.0, 1.0, 2.0, 4.0])
    assert kish_effective_n(w) == approx(64 / 22)
    assert kish_design_effect(w) == approx(1.375)


# --- calibration -----------------------------------------------------------------------------


def test_poststratify_matches_cell_totals_and_r(api, dstrat):
    """R: postStratify(dstrat, ~awards, pop.awards) then svymean(~api00), svytotal(~enroll),
    svymean(~sch.wide), svyciprop(~I(sch.wide=="Yes"), method="logit")."""
    dps = poststratify(dstrat, api["awards"], POP_AWARDS)
    totals = pd.Series(dps.weights).groupby(api["awards"]).sum()
    assert totals["No"] == approx(2027)
    assert totals["Yes"] == approx(4167)
    m = estimate_mean(api["api00"], dps)
    assert m.estimate == approx(663.79832581998608)
    assert m.se == approx(9.41701794291333)
    t = estimate_total(api["enroll"], dps)
    assert t.estimate == approx(3643807.868949413)
    assert t.se == approx(119623.099618488)
    p = estimate_proportions(api["sch.wide"], dps).set_index("category")
    assert p.loc["Yes", "estimate"] == approx(0.8440597837379011)
    assert p.loc["Yes", "se"] == approx(0.0188634786734324)
    assert p.loc["Yes", "ci_low"] == pytest.approx(0.8031537004073332, abs=1e-8)
    assert p.loc["Yes", "ci_high"] == pytest.approx(0.8777590818736580, abs=1e-8)


def test_rake_matches_margins_and_r(api, dstrat):
    """R: rake(dstrat, list(~sch.wide, ~comp.imp), ..., control=list(maxit=100,
    epsilon=1e-12)), weights and svymean(~api00), svymean(~awards), svyciprop(~I(awards==
    "Yes"), method="logit")."""
    drk = rake(
        dstrat,
        {
            "sch.wide": (api["sch.wide"], POP_SCHWIDE),
            "comp.imp": (api["comp.imp"], POP_COMPIMP),
        },
    )
    w = pd.Series(drk.weights)
    assert w.groupby(api["sch.wide"]).sum().to_dict() == {
        "No": approx(1072),
        "Yes": approx(5122),
    }
    assert w.groupby(api["comp.imp"]).sum()["No"] == approx(1712)
    expected_w = [30.1244395154706, 48.3063423761800, 42.0088256852590, 48.3063423761800]
    assert drk.weights[:4] == pytest.approx(expected_w, rel=1e-8)
    m = estimate_mean(api["api00"], drk)
    assert m.estimate == pytest.approx(662.75219156563901, rel=1e-8)
    assert m.se == pytest.approx(9.35065951026628, rel=1e-8)
    p = estimate_proportions(api["awards"], drk).set_index("category")
    assert p.loc["Yes", "estimate"] == pytest.approx(0.6981376316802870, rel=1e-8)
    assert p.loc["Yes", "se"] == pytest.approx(0.0136281808323449, rel=1e-8)
    assert p.loc["Yes", "ci_low"] == pytest.approx(0.6706033400203036, abs=1e-8)
    assert p.loc["Yes", "ci_high"] == pytest.approx(0.7243165096231959, abs=1e-8)


def test_rake_errors(api, dstrat):
    with pytest.raises(CalibrationError, match=r"margin 'awards': target categories with no "):
        rake(dstrat, {"awards": (api["awards"], {**POP_AWARDS, "Maybe": 10})})
    with pytest.raises(CalibrationError, match="without a population total: \\['No'\\]"):
        rake(dstrat, {"awards": (api["awards"], {"Yes": 6194})})
    with pytest.raises(CalibrationError, match="disagree on the population total"):
        rake(
            dstrat,
            {
                "awards": (api["awards"], POP_AWARDS),
                "sch.wide": (api["sch.wide"], {"No": 1, "Yes": 1}),
            },
        )
    with pytest.raises(RakingConvergenceError, match="did not converge in 1 iterations"):
        rake(
            dstrat,
            {
                "sch.wide": (api["sch.wide"], POP_SCHWIDE),
                "comp.imp": (api["comp.imp"], POP_COMPIMP),
            },
            max_iter=1,
        )


def test_poststratify_errors(api, dstrat):
    with pytest.raises(CalibrationError, match="cells: target categories with no respondent"):
        poststratify(dstrat, api["awards"], {**POP_AWARDS, "Maybe": 3})
    with pytest.raises(ValueError, match="cells has 3 values, expected 200"):
        poststratify(dstrat, ["a", "b", "c"], POP_AWARDS)


# --- lonely strata ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def one_high(api):
    """apistrat with a single high school (the first H row), as in apistrat_reference.R."""
    return pd.concat([api[api["stype"] != "H"], api[api["stype"] == "H"].iloc[:1]])


def _lonely(one_high, rule):
    return survey_design(
        weights=one_high["pw"], strata=one_high["stype"], fpc=one_high["fpc"], lonely_psu=rule
    )


def test_lonely_fail_raises(one_high):
    design = _lonely(one_high, "fail")
    with pytest.raises(LonelyStratumError, match=r"strata \['H'\] have a single respondent"):
        estimate_mean(one_high["api00"], design)


@pytest.mark.parametrize(
    ("rule", "mean_se", "total_se"),
    [
        ("remove", 10.4833821077944, 91370.8329758429),
        ("certainty", 10.4833821077944, 91370.8329758429),
        ("average", 12.8394684713595, 111905.959081941),
    ],
)
def test_lonely_rules_match_r(one_high, rule, mean_se, total_se):
    """R: options(survey.lonely.psu=rule); svymean(~api00), svytotal(~enroll)."""
    design = _lonely(one_high, rule)
    m = estimate_mean(one_high["api00"], design)
    assert m.estimate == approx(666.7948017644137)
    assert m.se == approx(mean_se)
    assert estimate_total(one_high["enroll"], design).se == approx(total_se)


def test_lonely_adjust(one_high):
    """R: survey.lonely.psu="adjust" gives SE 10.4979456670911 for svymean(~api00). For totals
    R 4.1 centres the lonely value at 0; here it is centred at the grand mean of the influence
    values (the documented rule), checked against the formula written out."""
    design = _lonely(one_high, "adjust")
    assert estimate_mean(one_high["api00"], design).se == approx(10.4979456670911)
    z = (one_high["pw"] * one_high["enroll"]).to_numpy()
    s = one_high["stype"].to_numpy()
    n_all = z.size
    var = 0.0
    for h in ("E", "M"):
        zh = z[s == h]
        nh, big_n = zh.size, one_high.loc[one_high["stype"] == h, "fpc"].iloc[0]
        var += (1 - nh / big_n) * nh / (nh - 1) * np.square(zh - zh.mean()).sum()
    big_n_h = one_high.loc[one_high["stype"] == "H", "fpc"].iloc[0]
    var += (1 - 1 / big_n_h) * (z[s == "H"][0] - z.sum() / n_all) ** 2
    assert estimate_total(one_high["enroll"], design).se == approx(np.sqrt(var))


def test_lonely_stratum_sampled_entirely_is_not_lonely():
    # A stratum of population 1 with its single member sampled is a certainty stratum.
    design = survey_design(weights=[1.0, 2.0, 2.0], strata=["a", "b", "b"], fpc=[1, 4, 4])
    v = design_variance(design, np.array([5.0, 1.0, 3.0]))
    # Stratum b only: f = 1 - 2/4, n/(n-1) = 2, Σ (z - z̄)² = 2 -> 2.
    assert v == approx(2.0)


# --- batched proportions ---------------------------------------------------------------------


def test_many_questions_equal_one_at_a_time(api, dstrat):
    rng = np.random.default_rng(8)
    answers = rng.integers(0, 4, size=(200, 30))
    answers[rng.random((200, 30)) < 0.1] = -1
    answers[:, 5] = 2  # a question everyone answered with the same option
    many = estimate_proportions_many(answers, dstrat, chunk_cells=2000)
    for q in (0, 5, 17, 29):
        one = estimate_proportions_many(answers[:, q], dstrat, n_options=4)
        np.testing.assert_allclose(many.estimate[q], one.estimate[0], rtol=1e-12)
        np.testing.assert_allclose(many.se[q], one.se[0], rtol=1e-12, atol=1e-15)
    assert many.estimate.shape == (30, 4)
    np.testing.assert_allclose(many.estimate.sum(axis=1), 1.0)
    assert many.estimate[5].tolist() == [0.0, 0.0, 1.0, 0.0]
    assert many.se[5].tolist() == [0.0, 0.0, 0.0, 0.0]
    assert many.ci_low[5, 2] == 1.0 and many.ci_high[5, 0] == 0.0
    assert many.n[0] == int((answers[:, 0] >= 0).sum())
    frame = many.to_frame()
    assert len(frame) == 120 and list(frame.columns[:3]) == ["question", "option", "estimate"]


def test_many_matches_sch_wide_from_r(api, dstrat):
    """R: svymean(~sch.wide, dstrat) through the batched path (codes No=0, Yes=1)."""
    codes = (api["sch.wide"] == "Yes").astype(np.int64).to_numpy()
    res = estimate_proportions_many(np.column_stack([codes, 1 - codes]), dstrat)
    assert res.estimate[0, 1] == approx(0.8279480114158234)
    assert res.estimate[1, 0] == approx(0.8279480114158234)
    assert res.se[0, 1] == approx(0.0243447801130748)
    assert res.df == 197
    assert res.effective_n[0] == approx(kish_effective_n(api["pw"].to_numpy()))


def test_many_agrees_with_svy():
    """svy (PyPI), a reference implementation: Sample.estimation.prop for a stratified design
    with population sizes, on synthetic answers."""
    import polars as pl
    import svy

    rng = np.random.default_rng(21)
    strata = np.repeat(np.arange(6), [5, 9, 12, 7, 10, 7])
    pop = (np.bincount(strata) * rng.integers(3, 30, 6))[strata].astype(float)
    w = pop / np.bincount(strata)[strata] * rng.uniform(0.8, 1.2, strata.size)
    answers = rng.integers(0, 3, size=(strata.size, 3))
    ours = estimate_proportions_many(answers, survey_design(weights=w, strata=strata, fpc=pop))
    frame = pl.DataFrame(
        {
            "s": strata,
            "w": w,
            "N": pop,
            "q0": answers[:, 0],
            "q1": answers[:, 1],
            "q2": answers[:, 2],
        }
    )
    sample = svy.Sample(frame, svy.Design(stratum="s", wgt="w", pop_size="N"))
    for q in range(3):
        ref = sample.estimation.prop(f"q{q}").to_polars()
        codes = ref[f"q{q}"].to_numpy()
        np.testing.assert_allclose(ours.estimate[q, codes], ref["est"].to_numpy(), atol=1e-12)
        np.testing.assert_allclose(ours.se[q, codes], ref["se"].to_numpy(), atol=1e-12)
        np.testing.assert_allclose(ours.ci_low[q, codes], ref["lci"].to_numpy(), atol=1e-10)
        np.testing.assert_allclose(ours.ci_high[q, codes], ref["uci"].to_numpy(), atol=1e-10)


def test_logit_interval_by_hand():
    # p = 0.5, se = 0.1, df large: logit 0 ± 1.96 · 0.1 / 0.25 = ±0.784 -> expit 0.3135, 0.6865.
    lo, hi = logit_interval(np.array([0.5]), np.array([0.1]), df=10**9)
    assert lo[0] == pytest.approx(1 / (1 + np.exp(0.7839856)), rel=1e-7)
    assert hi[0] == pytest.approx(1 / (1 + np.exp(-0.7839856)), rel=1e-7)


def test_estimate_errors(dstrat):
    with pytest.raises(ValueError, match="answers must be a respondents x questions array"):
        estimate_proportions_many(np.zeros((3, 2), dtype=int), dstrat)
    with pytest.raises(ValueError, match="integer option codes"):
        estimate_proportions_many(np.zeros((200, 2)), dstrat)
    with pytest.raises(ValueError, match="n_options is 2"):
        estimate_proportions_many(np.full((200, 1), 4), dstrat, n_options=2)
    with pytest.raises(ValueError, match="y has 3 values, expected 200"):
        estimate_mean([1.0, 2.0, 3.0], dstrat)
    with pytest.raises(ValueError, match="y has no non-missing value"):
        estimate_mean(np.full(200, np.nan), dstrat)


def test_design_errors():
    with pytest.raises(ValueError, match="fpc must be constant within each stratum"):
        survey_design(weights=[1, 1], strata=["a", "a"], fpc=[5, 6])
    with pytest.raises(ValueError, match=r"fpc is smaller than the number of respondents in .*'a'"):
        survey_design(weights=[1, 1], strata=["a", "a"], fpc={"a": 1})
    with pytest.raises(ValueError, match="fpc has no population size for strata \\['b'\\]"):
        survey_design(weights=[1, 1], strata=["a", "b"], fpc={"a": 10})
    with pytest.raises(ValueError, match="lonely_psu must be one of"):
        survey_design(weights=[1, 1], lonely_psu="ignore")
    with pytest.raises(ValueError, match="weights must be finite and non-negative"):
        survey_design(weights=[1, -1])


# --- trimming --------------------------------------------------------------------------------


def test_trim_weights_by_hand():
    # Total 10; 6 is cut to 3 and the 3 removed is spread over the four 1s (+0.75 each).
    out = trim_weights([1.0, 1.0, 1.0, 1.0, 6.0], upper=3)
    assert out.tolist() == pytest.approx([1.75, 1.75, 1.75, 1.75, 3.0])
    # Relative bounds: mean 2, upper 1.5 x mean = 3: the same result.
    rel = trim_weights([1.0, 1.0, 1.0, 1.0, 6.0], upper=1.5, relative=True)
    assert rel.tolist() == pytest.approx(out.tolist())
    # Lower bound: 0.1 lifted to 0.5, the 0.4 taken from the others in proportion.
    low = trim_weights([0.1, 1.0, 2.0, 2.9], lower=0.5)
    assert low.sum() == pytest.approx(6.0)
    assert low[0] == pytest.approx(0.5)
    assert low[1:].tolist() == pytest.approx([1.0 * 5.5 / 5.9, 2.0 * 5.5 / 5.9, 2.9 * 5.5 / 5.9])


def test_trim_weights_cascades_and_errors():
    w = np.array([1.0, 2.0, 2.5, 10.0])  # total 15.5; cap 4 forces a second round
    out = trim_weights(w, upper=4)
    assert out.sum() == pytest.approx(15.5)
    assert out.max() <= 4 + 1e-9
    with pytest.raises(ValueError, match="cannot hold the total weight"):
        trim_weights([1.0, 1.0, 6.0], upper=2)
    with pytest.raises(ValueError, match="lower bound 3 is above upper bound 2"):
        trim_weights([1.0, 1.0], lower=3, upper=2)


# --- quantiles -------------------------------------------------------------------------------


@pytest.mark.parametrize("p", [0.1, 0.25, 0.5, 0.75, 0.9])
def test_quantile_matches_numpy_weighted_inverted_cdf(api, dstrat, p):
    """Reference implementation: numpy's weighted quantile with method="inverted_cdf" (the
    inverse of the weighted distribution function, R's svyquantile qrule="math")."""
    q = estimate_quantile(api["api00"], dstrat, p=p)
    expected = np.quantile(api["api00"], p, weights=api["pw"], method="inverted_cdf")
    assert q.estimate == float(expected)
    assert q.n == 200 and q.df == 197


def test_median_interval_is_woodruffs(api, dstrat):
    """Woodruff (1952): the share at or below the median gets its design-based SE (the
    svymean SE checked against R above), and the ends are the quantiles at 0.5 -/+ t SE."""
    from scipy import stats

    q = estimate_quantile(api["api00"], dstrat, p=0.5)
    assert q.estimate == 668.0
    below = (api["api00"] <= q.estimate).astype(float)
    se = estimate_mean(below, dstrat).se
    assert q.se_share == approx(se)
    t = stats.t.ppf(0.975, 197)
    for share, end in [(0.5 - t * se, q.ci_low), (0.5 + t * se, q.ci_high)]:
        assert end == np.quantile(api["api00"], share, weights=api["pw"], method="inverted_cdf")
    assert q.ci_low < q.estimate < q.ci_high


def test_quantile_by_hand_with_missing_values():
    """Weights 1, 1, 2, 4 on 10, 20, 30, 40 (one missing): the cumulative shares are 1/8,
    2/8, 4/8, 1, so the median is 30 (the first value whose share reaches 1/2) and the 0.3
    quantile 30 too; the missing respondent stays out of the distribution."""
    design = survey_design(weights=[1, 1, 2, 4, 3])
    y = [10, 20, 30, 40, np.nan]
    assert estimate_quantile(y, design, p=0.5).estimate == 30
    assert estimate_quantile(y, design, p=0.3).estimate == 30
    assert estimate_quantile(y, design, p=0.2).estimate == 20
    assert estimate_quantile(y, design, p=0.5).n == 4
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        estimate_quantile(y, design, p=1)
