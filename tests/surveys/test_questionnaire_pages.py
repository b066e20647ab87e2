"""The questionnaire editor through the Django client: a researcher adds questions (in a new
block or an existing one), submits them for review, a colleague approves them and the survey
opens. Every bad form is a 400 naming the field and creates nothing, not even the new block;
people outside the study get a 404."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from surveys.models import Block, Option, Question, ReviewState, SurveyStatus
from surveys.services import survey_create
from tests.conftest import post_refused

pytestmark = pytest.mark.django_db

CHOICE = {
    "block": "",
    "block_title_en": "Trust",
    "block_title_ko": "신뢰",
    "code": "trust_gov",
    "kind": "single",
    "text_en": "How much do you trust the government?",
    "text_ko": "정부를 얼마나 신뢰하십니까?",
    "options": "high | A lot | 많이\nsome | Somewhat | 어느 정도\n\nnone | Not at all\n",
    "required": "on",
}


@pytest.fixture
def survey(study):
    return survey_create(study=study, title_en="Trust 2026", title_ko="신뢰 2026")


@pytest.fixture
def as_researcher(client, researcher):
    client.force_login(researcher)
    return client


def page(survey, name: str = "questionnaire", *args) -> str:
    return reverse(f"surveys:{name}", args=[survey.pk, *args])


def flash(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_questions_are_added_in_new_and_existing_blocks(as_researcher, survey, researcher):
    response = as_researcher.post(page(survey, "question_new"), CHOICE)
    assert response.status_code == 302
    assert flash(response) == ["Question trust_gov added."]
    question = Question.objects.get(code="trust_gov")
    assert (question.block.title_en, question.block.title_ko) == ("Trust", "신뢰")
    assert (question.text_ko, question.required, question.created_by) == (
        "정부를 얼마나 신뢰하십니까?", True, researcher,
    )  # fmt: skip
    options = list(question.options.order_by("order").values_list("code", "text_en", "text_ko"))
    assert options == [
        ("high", "A lot", "많이"), ("some", "Somewhat", "어느 정도"), ("none", "Not at all", ""),
    ]  # fmt: skip
    assert question.review_state == ReviewState.DRAFT

    number = {
        "block": str(question.block_id), "code": "age", "kind": "numeric",
        "text_en": "How old are you?", "min_value": "18", "max_value": "120",
    }  # fmt: skip
    assert as_researcher.post(page(survey, "question_new"), number).status_code == 302
    age = Question.objects.get(code="age")
    assert (age.block_id, age.order, age.required) == (question.block_id, 1, False)
    assert (age.min_value, age.max_value) == (18, 120)
    assert Block.objects.filter(survey=survey).count() == 1

    listed = as_researcher.get(page(survey))
    assert listed.status_code == 200
    html = listed.content.decode()
    for text in ("trust_gov", "정부를 얼마나 신뢰하십니까?", "어느 정도", "How old are you?"):
        assert text in html
    # The new block can be chosen for the next question.
    assert f'<option value="{question.block_id}" selected>Trust</option>' in html


@pytest.mark.parametrize(
    "change, field, message",
    [
        ({"options": "high | A lot\nsome"}, "options",
         "Line 2: write code | English text | Korean text."),
        ({"options": "hi gh | A lot\nsome | Some"}, "options",
         "Line 1: the code 'hi gh' may use letters, digits, - and _ only."),
        ({"options": "high | A lot"}, "options", "A choice question needs at least two options."),
        ({"options": "a | A\na | B"}, "options", "Option codes must be unique."),
        ({"kind": "text"}, "options", "Only choice questions have options."),
        ({"kind": "ranking"}, "kind",
         "Select a valid choice. ranking is not one of the available choices."),
        ({"code": "trust gov"}, "code",
         "Enter a valid “slug” consisting of letters, numbers, underscores or hyphens."),
        ({"text_en": ""}, "text_en", "This field is required."),
        ({"is_attention_check": "on"}, "expected_option",
         "An attention check needs an expected option."),
        ({"answer_key": "maybe"}, "answer_key", "'maybe' is not an option of the question."),
        ({"kind": "numeric", "options": "", "min_value": "10", "max_value": "1"}, "max_value",
         "The highest number is below the lowest."),
        ({"block": "999999"}, "block",
         "Select a valid choice. 999999 is not one of the available choices."),
    ],
)  # fmt: skip
def test_bad_questions_are_refused_whole(as_researcher, survey, change, field, message):
    response = post_refused(as_researcher, page(survey, "question_new"), {**CHOICE, **change})
    assert response.context["form"].errors[field] == [message]
    assert "Nothing was created: see the errors marked below." in flash(response)
    # Not even the new block.
    assert (Block.objects.count(), Question.objects.count(), Option.objects.count()) == (0, 0, 0)


def test_the_service_refuses_another_surveys_block(survey, study):
    from django.core.exceptions import ValidationError

    from surveys.services import block_create, question_add

    other = block_create(survey=survey_create(study=study, title_en="Other"))
    with pytest.raises(ValidationError) as refused:
        question_add(survey=survey, block_id=other.pk, code="q", kind="text", text_en="Q?")
    assert refused.value.message_dict == {"block": ["No such block in this survey."]}
    assert Question.objects.count() == 0


def test_a_repeated_code_is_refused(as_researcher, survey):
    as_researcher.post(page(survey, "question_new"), CHOICE)
    response = post_refused(as_researcher, page(survey, "question_new"), CHOICE)
    assert response.context["form"].errors["code"] == [
        "The survey already has a question 'trust_gov'."
    ]
    assert (Block.objects.count(), Question.objects.count()) == (1, 1)


def test_submit_review_open_and_close(as_researcher, client, survey, colleague):
    as_researcher.post(page(survey, "question_new"), CHOICE)
    question = Question.objects.get()
    refused = as_researcher.post(page(survey, "survey_status", "open"))
    assert "These questions are not approved yet: trust_gov." in flash(refused)
    submitted = as_researcher.post(page(survey, "question_submit", question.pk))
    assert submitted.status_code == 302
    assert submitted["Location"].endswith("#q-trust_gov")
    assert "trust_gov is waiting for review." in flash(submitted)
    question.refresh_from_db()
    assert question.review_state == ReviewState.IN_REVIEW
    again = as_researcher.post(page(survey, "question_submit", question.pk))
    assert "Only a draft question can be submitted." in flash(again)

    client.force_login(colleague)
    review = reverse("surveys:review_question", args=[survey.pk, question.pk])
    assert client.post(review, {"decision": "approve"}).status_code == 302
    opened = client.post(page(survey, "survey_status", "open"))
    assert "The survey is open." in flash(opened)
    survey.refresh_from_db()
    assert survey.status == SurveyStatus.OPEN
    # An open survey's questionnaire no longer changes.
    late = post_refused(client, page(survey, "question_new"), {**CHOICE, "code": "late"})
    assert late.context["form"].non_field_errors() == [
        "Only a draft survey's questionnaire can change."
    ]
    assert "Add a question" not in client.get(page(survey)).content.decode()
    closed = client.post(page(survey, "survey_status", "close"))
    assert "The survey is closed." in flash(closed)
    survey.refresh_from_db()
    assert survey.status == SurveyStatus.CLOSED


def test_outsiders_get_404_and_anonymous_users_log_in(client, survey, outsider):
    login = client.get(page(survey))
    assert login.status_code == 302 and "/login/" in login["Location"]
    client.force_login(outsider)
    assert client.get(page(survey)).status_code == 404
    assert client.post(page(survey, "question_new"), CHOICE).status_code == 404
    assert client.post(page(survey, "survey_status", "open")).status_code == 404
    assert Question.objects.count() == 0


def test_a_question_sent_back_is_edited_and_resubmitted(as_researcher, client, survey, colleague):
    as_researcher.post(page(survey, "question_new"), {**CHOICE, "answer_key": "high"})
    question = Question.objects.get()
    as_researcher.post(page(survey, "question_submit", question.pk))
    client.force_login(colleague)
    review = reverse("surveys:review_question", args=[survey.pk, question.pk])
    client.post(review, {"decision": "reject", "comment": "Add a middle option."})
    question.refresh_from_db()
    assert question.review_state == ReviewState.DRAFT
    listed = as_researcher.get(page(survey)).content.decode()
    assert "Add a middle option." in listed

    edit = page(survey, "question_edit", question.pk)
    shown = as_researcher.get(edit)
    assert shown.status_code == 200
    assert shown.context["form"].initial["options"] == (
        "high | A lot | 많이\nsome | Somewhat | 어느 정도\nnone | Not at all"
    )
    assert "Add a middle option." in shown.content.decode()
    form = {**shown.context["form"].initial}
    form = {k: v for k, v in form.items() if v is not None and v is not False}
    form["options"] = "high | A lot | 많이\nmid | Neither | 보통\nnone | Not at all | 전혀"
    form["text_ko"] = "정부를 어느 정도 신뢰하십니까?"
    form["required"] = "on"
    saved = as_researcher.post(edit, form)
    assert saved.status_code == 302
    assert "trust_gov changed; it is a draft again." in flash(saved)
    question.refresh_from_db()
    assert question.text_ko == "정부를 어느 정도 신뢰하십니까?"
    assert list(question.options.values_list("code", "text_ko")) == [
        ("high", "많이"), ("mid", "보통"), ("none", "전혀"),
    ]  # fmt: skip
    assert as_researcher.post(page(survey, "question_submit", question.pk)).status_code == 302
    question.refresh_from_db()
    assert (question.review_state, question.review_cycle) == (ReviewState.IN_REVIEW, 2)


@pytest.mark.parametrize(
    "change, field, message",
    [
        ({"options": "high | A lot"}, "options", "A choice question needs at least two options."),
        ({"options": "a | A\nb | B"}, "answer_key", "'high' is not an option of the question."),
        ({"is_attention_check": "on"}, "expected_option",
         "An attention check needs an expected option."),
        ({"required_approvals": "0"}, "required_approvals",
         "Ensure this value is greater than or equal to 1."),
        ({"text_en": ""}, "text_en", "This field is required."),
    ],
)  # fmt: skip
def test_a_bad_edit_changes_nothing(as_researcher, survey, change, field, message):
    as_researcher.post(page(survey, "question_new"), {**CHOICE, "answer_key": "high"})
    question = Question.objects.get()
    as_researcher.post(page(survey, "question_submit", question.pk))
    form = {
        "text_en": "Changed?", "options": "high | A lot\nlow | Little",
        "answer_key": "high", "required_approvals": "1", **change,
    }  # fmt: skip
    response = post_refused(as_researcher, page(survey, "question_edit", question.pk), form)
    assert response.context["form"].errors[field] == [message]
    question.refresh_from_db()
    assert (question.text_en, question.review_state) == (CHOICE["text_en"], ReviewState.IN_REVIEW)
    assert question.options.count() == 3


def test_options_are_replaced_through_the_api(api_client, researcher, survey):
    from surveys.services import block_create, question_create

    question = question_create(
        block=block_create(survey=survey), code="q", kind="single", text_en="Q?",
        options=[("a", "A", ""), ("b", "B", "")],
    )  # fmt: skip
    api_client.force_authenticate(researcher)
    url = f"/api/surveys/questions/{question.pk}/"
    bad = api_client.patch(url, {"options": [{"code": "a", "text_en": "A"}]}, format="json")
    assert bad.status_code == 400
    assert bad.json() == {"errors": {"options": ["A choice question needs at least two options."]}}
    good = api_client.patch(
        url,
        {
            "options": [
                {"code": "x", "text_en": "X", "text_ko": "엑스"},
                {"code": "y", "text_en": "Y"},
            ]
        },
        format="json",
    )
    assert good.status_code == 200
    assert [o["code"] for o in good.json()["options"]] == ["x", "y"]


def test_questions_move_within_their_block_and_drafts_are_deleted(as_researcher, survey):
    for code in ("a1", "a2", "a3"):
        as_researcher.post(
            page(survey, "question_new"),
            {"block": str(Block.objects.first().pk) if Block.objects.exists() else "",
             "code": code, "kind": "text", "text_en": f"{code}?"},
        )  # fmt: skip
    as_researcher.post(page(survey, "question_submit", Question.objects.get(code="a1").pk))

    def codes():
        return list(Question.objects.order_by("order", "id").values_list("code", flat=True))

    a3 = Question.objects.get(code="a3")
    moved = as_researcher.post(page(survey, "question_move", a3.pk, "up"))
    assert moved["Location"].endswith("#q-a3")
    assert codes() == ["a1", "a3", "a2"]
    as_researcher.post(page(survey, "question_move", a3.pk, "up"))
    assert codes() == ["a3", "a1", "a2"]
    top = as_researcher.post(page(survey, "question_move", a3.pk, "up"))
    assert "The question cannot move further that way." in flash(top)
    assert codes() == ["a3", "a1", "a2"]
    assert as_researcher.post(page(survey, "question_move", a3.pk, "sideways")).status_code == 404
    # Moving is not rewording: a1 stays in review.
    assert Question.objects.get(code="a1").review_state == ReviewState.IN_REVIEW

    gone = as_researcher.post(page(survey, "question_delete", a3.pk))
    assert "Question a3 deleted." in flash(gone)
    assert codes() == ["a1", "a2"]
    html = as_researcher.get(page(survey)).content.decode()
    assert 'aria-label="Move a1 up"' not in html and 'aria-label="Move a1 down"' in html

    survey.status = "open"
    survey.save()
    a2 = Question.objects.get(code="a2")
    refused = as_researcher.post(page(survey, "question_delete", a2.pk))
    assert "Only a draft survey's questionnaire can change." in flash(refused)
    as_researcher.post(page(survey, "question_move", a2.pk, "up"))
    assert codes() == ["a1", "a2"]


def test_questions_of_another_survey_are_404(as_researcher, survey, study):
    other = survey_create(study=study, title_en="Other")
    as_researcher.post(page(other, "question_new"), CHOICE)
    question = Question.objects.get()
    assert as_researcher.post(page(survey, "question_delete", question.pk)).status_code == 404
    assert as_researcher.get(page(survey, "question_edit", question.pk)).status_code == 404
    rename = page(survey, "block_edit", question.block_id, "rename")
    assert as_researcher.post(rename, {"title_en": "Mine"}).status_code == 404
    assert Question.objects.count() == 1


def test_questions_move_and_are_deleted_through_the_api(api_client, researcher, survey):
    from surveys.services import block_create, question_create

    block = block_create(survey=survey)
    first, second = (
        question_create(block=block, code=code, kind="text", text_en=f"{code}?")
        for code in ("first", "second")
    )
    api_client.force_authenticate(researcher)
    moved = api_client.post(f"/api/surveys/questions/{second.pk}/move/", {"step": -1})
    assert moved.status_code == 200
    assert moved.json()["order"] == 0
    codes = list(Question.objects.order_by("order").values_list("code", flat=True))
    assert codes == ["second", "first"]
    bad = api_client.post(f"/api/surveys/questions/{second.pk}/move/", {"step": 2})
    assert bad.status_code == 400 and "step" in bad.json()["errors"]
    edge = api_client.post(f"/api/surveys/questions/{second.pk}/move/", {"step": -1})
    assert edge.json() == {"errors": {"step": ["The question cannot move further that way."]}}
    assert api_client.delete(f"/api/surveys/questions/{first.pk}/").status_code == 204
    assert list(Question.objects.values_list("code", flat=True)) == ["second"]
    survey.status = "open"
    survey.save()
    refused = api_client.delete(f"/api/surveys/questions/{second.pk}/")
    assert refused.status_code == 400
    assert refused.json() == {
        "errors": {"survey": ["Only a draft survey's questionnaire can change."]}
    }


SETTINGS = {
    "settings-title_en": "Trust 2026",
    "settings-title_ko": "신뢰 2026",
    "settings-intro_en": "We ask how much you trust institutions. About 5 minutes.",
    "settings-intro_ko": "기관에 대한 신뢰를 묻습니다. 약 5분이 걸립니다.",
    "settings-languages": ["ko", "en"],
    "settings-randomize_options": "on",
    "settings-reservation_minutes": "45",
}


def test_survey_settings_change_while_draft_and_only_the_link_and_hold_later(as_researcher, survey):
    url = page(survey, "survey_settings")
    saved = as_researcher.post(url, SETTINGS)
    assert saved.status_code == 302 and saved["Location"].endswith("#settings")
    assert "Survey settings saved." in flash(saved)
    survey.refresh_from_db()
    assert survey.intro_ko == "기관에 대한 신뢰를 묻습니다. 약 5분이 걸립니다."
    assert (survey.randomize_options, survey.randomize_questions) == (True, False)
    assert (survey.reservation_minutes, survey.open_link_enabled) == (45, False)

    bad = post_refused(as_researcher, url, {**SETTINGS, "settings-languages": []})
    assert bad.context["settings_form"].errors["languages"] == ["This field is required."]
    assert bad.context["settings_open"] is True

    survey.status = "open"
    survey.save()
    # During fieldwork the consent text stays as participants saw it...
    late = post_refused(as_researcher, url, {**SETTINGS, "settings-intro_en": "Changed."})
    assert late.context["settings_form"].non_field_errors() == [
        "Only a draft survey's wording and consent can change (intro_en)."
    ]
    # ...but the open link can be switched on and the hold shortened.
    link = as_researcher.post(
        url, {**SETTINGS, "settings-open_link_enabled": "on", "settings-reservation_minutes": "30"}
    )
    assert link.status_code == 302
    survey.refresh_from_db()
    assert (survey.open_link_enabled, survey.reservation_minutes) == (True, 30)
    assert survey.intro_en == SETTINGS["settings-intro_en"]


def test_survey_settings_through_the_api(api_client, researcher, survey):
    api_client.force_authenticate(researcher)
    url = f"/api/surveys/surveys/{survey.pk}/"
    changed = api_client.patch(url, {"intro_en": "Hello.", "languages": ["en"]}, format="json")
    assert changed.status_code == 200
    survey.refresh_from_db()
    assert (survey.intro_en, survey.languages) == ("Hello.", ["en"])
    bad = api_client.patch(url, {"languages": []}, format="json")
    assert bad.status_code == 400
    assert bad.json() == {"errors": {"languages": ["Choose Korean, English or both, once each."]}}
    unknown = api_client.patch(url, {"design": None}, format="json")
    assert unknown.status_code == 400 and "design" in unknown.json()["errors"]
    survey.status = "closed"
    survey.save()
    same = api_client.patch(url, {"intro_en": "Hello."}, format="json")
    assert same.status_code == 200  # unchanged wording is not an edit
    refused = api_client.patch(url, {"title_en": "New"}, format="json")
    assert refused.json() == {
        "errors": {"survey": ["Only a draft survey's wording and consent can change (title_en)."]}
    }


def test_blocks_are_renamed_moved_and_deleted_when_empty(as_researcher, survey):
    from surveys.services import block_create

    first = block_create(survey=survey, title_en="Family")
    second = block_create(survey=survey, title_en="Work")
    empty = block_create(survey=survey, title_en="Spare")
    for block, code in ((first, "fam"), (second, "job")):
        as_researcher.post(
            page(survey, "question_new"),
            {"block": str(block.pk), "code": code, "kind": "text", "text_en": f"{code}?"},
        )

    def order():
        return list(Block.objects.order_by("order").values_list("title_en", flat=True))

    renamed = as_researcher.post(
        page(survey, "block_edit", first.pk, "rename"),
        {"title_en": "Family life", "title_ko": "가정생활"},
    )
    assert renamed["Location"].endswith(f"#block-{first.pk}")
    assert Block.objects.get(pk=first.pk).title_ko == "가정생활"
    as_researcher.post(page(survey, "block_edit", second.pk, "up"))
    assert order() == ["Work", "Family life", "Spare"]
    top = as_researcher.post(page(survey, "block_edit", second.pk, "up"))
    assert "The block cannot move further that way." in flash(top)
    full = as_researcher.post(page(survey, "block_edit", first.pk, "delete"))
    assert "Only an empty block can be deleted." in flash(full)
    as_researcher.post(page(survey, "block_edit", empty.pk, "delete"))
    assert order() == ["Work", "Family life"]
    assert list(Block.objects.order_by("order").values_list("order", flat=True)) == [0, 1]
    html = as_researcher.get(page(survey)).text
    assert "Move block 1 down" in html and "Move block 1 up" not in html
    assert "Delete empty block" not in html  # both blocks hold a question
    assert as_researcher.post(page(survey, "block_edit", first.pk, "fold")).status_code == 404

    survey.status = "open"
    survey.save()
    late = as_researcher.post(page(survey, "block_edit", first.pk, "rename"), {"title_en": "X"})
    assert "Only a draft survey's questionnaire can change." in flash(late)
    assert Block.objects.get(pk=first.pk).title_en == "Family life"
