"""Weights, the vote table, ground truth and exports from a small fielded survey."""

from __future__ import annotations

import io

import pandas as pd
import pyreadstat
import pytest
from django.core.exceptions import ValidationError

from surveys.models import Weight
from surveys.selectors import survey_ground_truth, survey_vote_table
from surveys.services import (
    response_screen,
    response_start,
    responses_export,
    weights_compute,
)
from tests.surveys.factories import GOOD_ANSWERS, complete

pytestmark = pytest.mark.django_db


def respond(survey, region, gender, **answers):
    response = response_screen(
        response=response_start(survey=survey), values={"region": region, "gender": gender}
    )
    return complete(response, {**GOOD_ANSWERS, **answers})


@pytest.fixture
def fielded(open_survey):
    # Census 600 / 400 / 300 / 200. Respondents: 2, 1, 1, 1 -> weights 300, 400, 300, 200.
    respond(open_survey, "Seoul", "F", family="5", media=["tv"])
    respond(open_survey, "Seoul", "F", family="4", media=["tv", "web"])
    respond(open_survey, "Seoul", "M", family="1", media=["paper"])
    respond(open_survey, "Busan", "F", family="4", capital="busan", media=["web"])
    respond(open_survey, "Busan", "M", family="1", media=["tv"])
    respond(open_survey, "Busan", "M", attention="1")  # fails the attention check
    return open_survey


def test_poststratified_weights(fielded):
    result = weights_compute(survey=fielded)
    assert result["method"] == "poststratify"
    assert result["respondents"] == 5
    assert result["sum"] == pytest.approx(1500)
    weights = sorted(Weight.objects.values_list("response__cell__key", "value"))
    assert weights == [
        ("Busan|F", pytest.approx(300)),
        ("Busan|M", pytest.approx(200)),
        ("Seoul|F", pytest.approx(300)),
        ("Seoul|F", pytest.approx(300)),
        ("Seoul|M", pytest.approx(400)),
    ]
    assert weights_compute(survey=fielded)["respondents"] == 5  # idempotent
    assert Weight.objects.count() == 5


def test_weighting_fails_loudly_when_a_margin_has_no_respondent(open_survey):
    respond(open_survey, "Seoul", "F")
    with pytest.raises(ValidationError) as err:
        weights_compute(survey=open_survey)
    assert "no respondent" in err.value.messages[0]
    assert Weight.objects.count() == 0


def test_vote_table(fielded):
    weights_compute(survey=fielded)
    table = survey_vote_table(survey=fielded)
    family = table[table["item"] == f"{fielded.pk}:family"].sort_values(["weight", "label"])
    assert list(family["label"]) == ["1", "4", "4", "5", "1"]
    assert list(family["weight"]) == pytest.approx([200, 300, 300, 300, 400])
    assert set(table["role"]) == {"primary"}
    media = table[table["item"] == f"{fielded.pk}:media"]
    assert len(media) == 6  # one row per chosen option
    # Question wording, options and keys are item content (surveys.sources), not votes.
    assert list(table.columns) == [
        "item", "voter", "label", "weight", "role", "stratum", "region", "gender"
    ]  # fmt: skip
    assert all(len(v) == 32 and "@" not in v for v in table["voter"])
    assert table["voter"].nunique() == 5


def test_ground_truth_is_the_weighted_distribution(fielded):
    weights_compute(survey=fielded)
    truth = {d["code"]: d for d in survey_ground_truth(survey=fielded)}
    family = {o["code"]: o for o in truth["family"]["options"]}
    # Weighted shares: "5" = 300/1500, "4" = (300 + 300)/1500, "1" = (400 + 200)/1500.
    assert family["5"]["estimate"] == pytest.approx(0.2)
    assert family["4"]["estimate"] == pytest.approx(0.4)
    assert family["1"]["estimate"] == pytest.approx(0.4)
    assert family["2"]["estimate"] == 0.0
    # Only Seoul|F varies within its cell, so only "4" and "5" carry sampling error.
    assert family["5"]["ci_low"] < 0.2 < family["5"]["ci_high"]
    assert family["5"]["se"] > 0
    assert family["1"]["se"] == pytest.approx(0, abs=1e-12)
    media = {o["code"]: o["estimate"] for o in truth["media"]["options"]}
    # tv: Seoul|F (600) + Busan|M (200) of 1500.
    assert media["tv"] == pytest.approx(800 / 1500)
    assert truth["family"]["n"] == 5


def test_exports_carry_weights_strata_and_labels_but_no_contacts(fielded):
    weights_compute(survey=fielded)
    name, content = responses_export(survey=fielded, fmt="csv")
    assert name == f"survey-{fielded.pk}-responses.csv"
    assert content.startswith("\ufeff".encode())
    frame = pd.read_csv(io.BytesIO(content), encoding="utf-8-sig")
    assert len(frame) == 6
    assert {"respondent", "cell", "region", "gender", "weight", "family", "media_tv"} <= set(
        frame.columns
    )
    assert not any("mail" in c or "phone" in c for c in frame.columns)
    assert sorted(frame["weight"]) == pytest.approx([1.0, 200, 300, 300, 300, 400])
    _, parquet = responses_export(survey=fielded, fmt="parquet")
    assert len(pd.read_parquet(io.BytesIO(parquet))) == 6
    for fmt in ("sav", "dta"):
        _, content = responses_export(survey=fielded, fmt=fmt)
        path = f"/tmp/surveys-export-test.{fmt}"
        with open(path, "wb") as fh:
            fh.write(content)
        reader = pyreadstat.read_sav if fmt == "sav" else pyreadstat.read_dta
        data, meta = reader(path)
        assert len(data) == 6
        labels = dict(zip(meta.column_names, meta.column_labels, strict=True))
        assert labels["family"] == "Family comes first."
        assert labels["weight"] == "Final weight"
        assert meta.variable_value_labels["family"][4.0 if fmt == "sav" else 4] == "Agree"
        assert meta.variable_value_labels["capital"][1.0 if fmt == "sav" else 1] == "Seoul"


def test_a_single_respondent_gives_shares_without_intervals(open_survey):
    respond(open_survey, "Seoul", "F", family="2")
    truth = {d["code"]: d for d in survey_ground_truth(survey=open_survey)}
    family = {o["code"]: o for o in truth["family"]["options"]}
    assert family["2"] == {
        "code": "2",
        "text": "Disagree",
        "text_ko": "동의하지 않음",
        "estimate": 1.0,
        "se": None,
        "ci_low": None,
        "ci_high": None,
    }
    assert "attention" not in truth  # attention checks are not ground truth


def test_representativeness_before_and_after_weighting(fielded):
    from surveys.selectors import survey_representativeness

    before = {v["variable"]: v for v in survey_representativeness(survey=fielded)}
    region = {r["category"]: r for r in before["region"]["rows"]}
    assert region["Seoul"]["population"] == pytest.approx(100 * 1000 / 1500)
    assert region["Seoul"]["achieved"] == pytest.approx(60.0)
    assert region["Seoul"]["weighted"] is None
    assert before["region"]["df"] == 1
    weights_compute(survey=fielded)
    after = {v["variable"]: v for v in survey_representativeness(survey=fielded)}
    region = {r["category"]: r for r in after["region"]["rows"]}
    assert region["Seoul"]["weighted"] == pytest.approx(100 * 1000 / 1500)
