"""The survey source: what benchmarks read through ``sources.registry`` (votes and items)."""

from __future__ import annotations

import pandas as pd
import pytest

from sources import registry, schema
from sources.registry import SourceRef, SourceUnavailable
from surveys import services
from surveys.selectors import voter_key
from surveys.sources import SurveySource
from tests.surveys.factories import GOOD_ANSWERS, complete

pytestmark = pytest.mark.django_db


def respond(survey, region, gender, **answers):
    response = services.response_screen(
        response=services.response_start(survey=survey),
        values={"region": region, "gender": gender},
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


def ref(survey, study_id=None, **options):
    return SourceRef(
        kind="survey",
        study_id=survey.study_id if study_id is None else study_id,
        object_id=survey.pk,
        options=options,
    )


def test_the_registry_serves_the_survey_provider():
    provider = registry.get("survey")
    assert isinstance(provider, SurveySource)
    assert provider.kind == "survey"
    assert "survey" in registry.kinds()


def test_choices_are_the_studys_surveys_and_check_refuses_others(study, survey, outsider):
    from accounts.services import study_create

    second = services.survey_create(study=study, title_en="Second", languages=["en"])
    elsewhere = study_create(user=outsider, name="Elsewhere")
    foreign = services.survey_create(study=elsewhere, title_en="Foreign")
    provider = registry.get("survey")
    assert provider.choices(study_id=study.pk) == [(survey.pk, "Values"), (second.pk, "Second")]
    assert provider.choices(study_id=elsewhere.pk) == [(foreign.pk, "Foreign")]
    provider.check(ref=ref(survey))
    for bad in (ref(foreign, study_id=study.pk), ref(survey, study_id=elsewhere.pk)):
        with pytest.raises(SourceUnavailable) as info:
            provider.check(ref=bad)
        assert str(info.value) == "No such survey in this study."
    missing = SourceRef(kind="survey", study_id=study.pk, object_id=999_999)
    with pytest.raises(SourceUnavailable, match=r"^No such survey in this study\.$"):
        provider.vote_table(ref=missing)


def test_vote_table_columns_weights_and_question_filter(fielded):
    services.weights_compute(survey=fielded)
    provider = registry.get("survey")
    votes = provider.vote_table(ref=ref(fielded))
    assert list(votes.columns) == [
        "item", "voter", "label", "weight", "role", "stratum", "region", "gender"
    ]  # fmt: skip
    assert all(votes[c].dtype == schema.TEXT for c in votes.columns if c != "weight")
    pk = fielded.pk
    # 5 respondents (the flagged one casts no vote): family 5, capital 5, media 1+2+1+1+1.
    assert votes["item"].value_counts().to_dict() == {
        f"{pk}:media": 6,
        f"{pk}:family": 5,
        f"{pk}:capital": 5,
    }
    assert votes["voter"].nunique() == 5
    family = votes[votes["item"] == f"{pk}:family"].sort_values(["weight", "label", "stratum"])
    assert list(family["label"]) == ["1", "4", "4", "5", "1"]
    assert list(family["weight"]) == pytest.approx([200, 300, 300, 300, 400])
    assert list(family["stratum"]) == ["Busan|M", "Busan|F", "Seoul|F", "Seoul|F", "Seoul|M"]

    # Questions are named by code or by item key; the rest are left out.
    chosen = provider.vote_table(ref=ref(fielded, questions=["capital", f"{pk}:family"]))
    assert sorted(chosen["item"].unique()) == [f"{pk}:capital", f"{pk}:family"]
    assert len(chosen) == 10
    assert len(provider.vote_table(ref=ref(fielded, questions=["nope"]))) == 0
    assert len(provider.vote_table(ref=ref(fielded, questions=[]))) == 16


def test_item_table_has_the_questions_in_both_languages_with_their_distribution(fielded):
    provider = registry.get("survey")
    items = provider.item_table(ref=ref(fielded))
    pk = fielded.pk
    assert list(items.columns) == [
        "item", "kind", "question", "options", "answer_key", "subject",
        "distribution", "distribution_low", "distribution_high", "n",
        "option_texts_en", "question_en", "option_texts_ko", "question_ko",
        "block", "question_kind",
    ]  # fmt: skip
    # Choice questions only, in questionnaire order; no attention check, number or text.
    assert list(items["item"]) == [f"{pk}:family", f"{pk}:capital", f"{pk}:media"]
    assert set(items["kind"]) == {"question"}
    capital = items.iloc[1]
    # The survey's first language is Korean.
    assert fielded.languages == ["ko", "en"]
    assert capital["question"] == "한국의 수도는?"
    assert capital["question_ko"] == "한국의 수도는?"
    assert capital["question_en"] == "Capital of Korea?"
    assert capital["options"] == ["seoul", "busan"]
    assert capital["option_texts_en"] == ["Seoul", "Busan"]
    assert capital["option_texts_ko"] == ["서울", "부산"]
    assert (capital["answer_key"], capital["subject"]) == ("seoul", "geography")
    assert (capital["question_kind"], capital["block"], capital["n"]) == ("single", "Family", 5)
    # Post-stratified: Busan|F (census 300 of 1,500) said Busan, everyone else Seoul.
    assert capital["distribution"] == pytest.approx([0.8, 0.2])
    assert sum(capital["distribution"]) == pytest.approx(1.0)
    # Nobody's answer varies within their cell: no sampling error, a zero-width interval.
    assert capital["distribution_low"] == pytest.approx([0.8, 0.2])
    assert capital["distribution_high"] == pytest.approx([0.8, 0.2])

    family = items.iloc[0]
    assert family["options"] == ["1", "2", "3", "4", "5"]
    assert family["option_texts_en"][0] == "Strongly disagree"
    assert family["option_texts_ko"][0] == "전혀 동의하지 않음"
    assert family[["answer_key", "subject"]].isna().all()
    assert family["question_kind"] == "scale"
    # "5" = 300/1500, "4" = (300 + 300)/1500, "1" = (400 + 200)/1500, aligned with options.
    assert family["distribution"] == pytest.approx([0.4, 0.0, 0.0, 0.4, 0.2])
    assert sum(family["distribution"]) == pytest.approx(1.0)
    # Only Seoul|F varies within its cell, so only "4" and "5" have an interval of width > 0.
    low, high = family["distribution_low"], family["distribution_high"]
    assert low[4] < 0.2 < high[4]
    assert low[3] < 0.4 < high[3]
    assert (low[0], high[0]) == pytest.approx((0.4, 0.4))
    assert len(low) == len(high) == 5

    media = items.iloc[2]
    assert (media["question_kind"], media["block"]) == ("multiple", "Life")
    assert media["options"] == ["tv", "web", "paper"]
    # Multiple choice: each option's share of those who answered: tv = (600 + 200) / 1500.
    assert media["distribution"][0] == pytest.approx(800 / 1500)

    chosen = provider.item_table(ref=ref(fielded, questions=[f"{pk}:media", "family"]))
    assert list(chosen["item"]) == [f"{pk}:family", f"{pk}:media"]


def test_item_table_of_an_unanswered_survey_in_english_first(study):
    survey = services.survey_create(study=study, title_en="Draft", languages=["en", "ko"])
    block = services.block_create(survey=survey, title_en="", title_ko="")
    services.question_create(
        block=block,
        code="mood",
        kind="single",
        text_en="How are you?",
        text_ko="",
        options=[("good", "Good", "좋음"), ("bad", "Bad", "")],
    )
    items = registry.get("survey").item_table(ref=ref(survey))
    row = items.iloc[0]
    assert row["item"] == f"{survey.pk}:mood"
    assert (row["question"], row["question_en"]) == ("How are you?", "How are you?")
    assert pd.isna(row["question_ko"])
    assert row["option_texts_ko"] == ["좋음", ""]
    assert row["n"] == 0
    assert row["distribution"] is None
    assert pd.isna(row["block"])
    assert len(registry.get("survey").vote_table(ref=ref(survey))) == 0


def test_korean_first_falls_back_to_english_wording(study):
    survey = services.survey_create(study=study, title_en="Fallback")
    block = services.block_create(survey=survey, title_en="B")
    services.question_create(
        block=block,
        code="q",
        kind="single",
        text_en="In English only",
        options=[("a", "A", ""), ("b", "B", "")],
    )
    row = registry.get("survey").item_table(ref=ref(survey)).iloc[0]
    assert (row["question"], row["question_en"]) == ("In English only", "In English only")
    assert pd.isna(row["question_ko"])
    assert row["option_texts_ko"] is None


def test_media_are_refused_and_the_design_is_described(fielded):
    provider = registry.get("survey")
    with pytest.raises(SourceUnavailable):
        provider.open_media(ref=ref(fielded), name="anything.wav")
    unweighted = provider.describe(ref=ref(fielded))
    design = (
        "A survey of a stratified sample (design “Main”: proportional allocation of 20 "
        "respondents over the population “Korea”, stratified by region and gender). "
        "6 completed responses (6 through the open link, screened into quota cells; 1 left "
        "out for failing an attention check)"
    )
    assert unweighted == {
        "kind": "survey",
        "name": "Values",
        "languages": ["ko", "en"],
        "design": f"{design}; no weights were computed, so every respondent weighs 1.",
    }
    services.weights_compute(survey=fielded)
    assert provider.describe(ref=ref(fielded))["design"] == (
        f"{design}; weights post-stratified to the population's census counts per cell."
    )


def test_describe_without_a_design(study):
    survey = services.survey_create(study=study, title_en="Open", open_link_enabled=True)
    assert registry.get("survey").describe(ref=ref(survey)) == {
        "kind": "survey",
        "name": "Open",
        "languages": ["ko", "en"],
        "design": (
            "A survey without a sample design: its respondents are not a probability sample "
            "of a population. 0 completed responses; no weights were computed, so every "
            "respondent weighs 1."
        ),
    }


def test_voter_keys_are_32_hex_and_survive_a_new_secret_key(settings, fielded):
    settings.PSEUDONYM_KEY = "pseudonyms-for-tests"
    before = voter_key("some-token")
    assert len(before) == 32
    assert int(before, 16) >= 0
    votes = registry.get("survey").vote_table(ref=ref(fielded))
    settings.SECRET_KEY = "a-rotated-secret-key-that-signs-sessions-0123456789"
    assert voter_key("some-token") == before
    again = registry.get("survey").vote_table(ref=ref(fielded))
    assert list(again["voter"]) == list(votes["voter"])
    assert all(len(v) == 32 and set(v) <= set("0123456789abcdef") for v in votes["voter"])
    settings.PSEUDONYM_KEY = "another-pseudonym-key"
    assert voter_key("some-token") != before


def test_vote_table_items_are_described_by_the_item_table(fielded):
    provider = registry.get("survey")
    votes = provider.vote_table(ref=ref(fielded))
    items = provider.item_table(ref=ref(fielded))
    assert set(votes["item"]) == set(items["item"])
    assert pd.Index(items["item"]).is_unique
