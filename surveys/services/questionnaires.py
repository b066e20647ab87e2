"""Surveys, blocks, questions and options; the question review workflow; opening and closing.

Review: a draft question is submitted (a new review cycle starts), reviewers approve or
request changes with a comment; ``required_approvals`` approvals from different reviewers in
the cycle approve it, one request for changes sends it back to draft. Editing an approved or
in-review question sends it back to draft. Only a survey whose questions are all approved can
be opened.
"""

from __future__ import annotations

import math
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.access import refuse_if_archived
from accounts.models import Study
from config.inputs import NUMBER_LIMIT_MAX
from surveys.models import (
    CHOICE_KINDS,
    Block,
    Option,
    Question,
    QuestionKind,
    QuestionReview,
    ReviewDecision,
    ReviewState,
    SampleDesign,
    Survey,
    SurveyStatus,
)


def _editable(survey: Survey) -> None:
    if survey.status != SurveyStatus.DRAFT:
        raise ValidationError({"survey": [_("Only a draft survey's questionnaire can change.")]})


@transaction.atomic
def survey_create(
    *,
    study: Study,
    title_en: str,
    title_ko: str = "",
    intro_en: str = "",
    intro_ko: str = "",
    languages: list[str] | None = None,
    design: SampleDesign | None = None,
    open_link_enabled: bool = False,
    randomize_questions: bool = False,
    randomize_options: bool = False,
    reservation_minutes: int = 60,
) -> Survey:
    """A new survey of ``study`` (not an archived one), a draft."""
    refuse_if_archived(study=study)
    if design is not None and design.study_id != study.pk:
        raise ValidationError({"design": [_("The sample design belongs to another study.")]})
    if not 1 <= reservation_minutes <= RESERVATION_MINUTES_MAX:
        raise ValidationError({"reservation_minutes": [_("Between 1 minute and 7 days.")]})
    return Survey.objects.create(
        study=study,
        title_en=title_en,
        title_ko=title_ko,
        intro_en=intro_en,
        intro_ko=intro_ko,
        languages=languages or ["ko", "en"],
        design=design,
        open_link_enabled=open_link_enabled,
        randomize_questions=randomize_questions,
        randomize_options=randomize_options,
        reservation_minutes=reservation_minutes,
    )


# Wording, consent and presentation change only while the survey is a draft (participants
# agree to the consent text they are shown); the open link and the hold length may change
# during fieldwork too.
SURVEY_DRAFT_FIELDS = {
    "title_en",
    "title_ko",
    "intro_en",
    "intro_ko",
    "languages",
    "randomize_questions",
    "randomize_options",
}
SURVEY_ANYTIME_FIELDS = {"open_link_enabled", "reservation_minutes"}
RESERVATION_MINUTES_MAX = 7 * 24 * 60


@transaction.atomic
def survey_update(*, survey: Survey, **fields: Any) -> Survey:
    """Change a survey's titles, consent text, languages, shuffling, open link or hold length."""
    unknown = sorted(set(fields) - SURVEY_DRAFT_FIELDS - SURVEY_ANYTIME_FIELDS)
    if unknown:
        raise ValidationError({name: [_("This field cannot be changed.")] for name in unknown})
    survey = Survey.objects.select_for_update().get(pk=survey.pk)
    changing = {name for name, value in fields.items() if getattr(survey, name) != value}
    if changing & SURVEY_DRAFT_FIELDS and survey.status != SurveyStatus.DRAFT:
        names = ", ".join(sorted(changing & SURVEY_DRAFT_FIELDS))
        raise ValidationError(
            {
                "survey": [
                    _("Only a draft survey's wording and consent can change (%(names)s).")
                    % {"names": names}
                ]
            }
        )
    if "title_en" in fields and not str(fields["title_en"]).strip():
        raise ValidationError({"title_en": [_("The survey needs an English title.")]})
    if "languages" in fields:
        languages = list(fields["languages"])
        if not languages or set(languages) - {"ko", "en"} or len(set(languages)) < len(languages):
            raise ValidationError({"languages": [_("Choose Korean, English or both, once each.")]})
    if "reservation_minutes" in fields and not (
        1 <= fields["reservation_minutes"] <= RESERVATION_MINUTES_MAX
    ):
        raise ValidationError({"reservation_minutes": [_("Between 1 minute and 7 days.")]})
    for name, value in fields.items():
        setattr(survey, name, value)
    if fields:
        survey.save(update_fields=list(fields))
    return survey


@transaction.atomic
def block_create(*, survey: Survey, title_en: str = "", title_ko: str = "") -> Block:
    _editable(survey)
    order = survey.blocks.count()
    return Block.objects.create(survey=survey, order=order, title_en=title_en, title_ko=title_ko)


def _locked_draft(obj: Any) -> Any:
    """A block or question again, with its survey row locked and checked to be a draft."""
    survey = Survey.objects.select_for_update().get(pk=obj.survey_id)
    _editable(survey)
    model = type(obj)
    found = model.objects.filter(pk=obj.pk).first()
    if found is None:
        name = model._meta.model_name
        gone = (
            _("The block no longer exists.")
            if name == "block"
            else _("The question no longer exists.")
        )
        raise ValidationError({name: [gone]})
    return found


def _moved(rows: list[Any], target: Any, step: int) -> Any:
    """Swap ``target`` with its neighbour ``step`` (-1 up, +1 down) in ``rows`` (in display
    order) and number them again from 0; return the moved row."""
    i = next(k for k, row in enumerate(rows) if row.pk == target.pk)
    j = i + step
    if step not in (-1, 1) or not 0 <= j < len(rows):
        if isinstance(target, Block):
            message = _("The block cannot move further that way.")
        else:
            message = _("The question cannot move further that way.")
        raise ValidationError({"step": [message]})
    rows[i], rows[j] = rows[j], rows[i]
    _renumber(rows)
    return rows[j]


def _renumber(rows: list[Any]) -> None:
    for k, row in enumerate(rows):
        row.order = k
    if rows:
        type(rows[0]).objects.bulk_update(rows, ["order"])


@transaction.atomic
def block_update(*, block: Block, title_en: str, title_ko: str = "") -> Block:
    """Rename a block of a draft survey (titles are shown to participants as page headings)."""
    block = _locked_draft(block)
    block.title_en, block.title_ko = title_en.strip(), title_ko.strip()
    block.save(update_fields=["title_en", "title_ko"])
    return block


@transaction.atomic
def block_delete(*, block: Block) -> None:
    """Remove an empty block of a draft survey; the others are numbered again."""
    block = _locked_draft(block)
    if block.questions.exists():
        raise ValidationError({"block": [_("Only an empty block can be deleted.")]})
    survey_id = block.survey_id
    block.delete()
    _renumber(list(Block.objects.filter(survey_id=survey_id).order_by("order", "id")))


@transaction.atomic
def block_move(*, block: Block, step: int) -> Block:
    """Move a block up (-1) or down (+1): participants see blocks as pages in this order."""
    block = _locked_draft(block)
    blocks = list(Block.objects.filter(survey_id=block.survey_id).order_by("order", "id"))
    return _moved(blocks, block, step)


@transaction.atomic
def _check_number_limits(low: float | None, high: float | None) -> None:
    """A number question's lowest and highest answers: finite, within ``NUMBER_LIMIT_MAX``
    either side of 0, the lowest not above the highest."""
    errors: dict[str, list[str]] = {}
    for name, value in (("min_value", low), ("max_value", high)):
        if value is not None and not (math.isfinite(value) and abs(value) <= NUMBER_LIMIT_MAX):
            errors[name] = [
                _("Give a number from %(low)s to %(high)s.")
                % {"low": f"{-NUMBER_LIMIT_MAX:.0e}", "high": f"{NUMBER_LIMIT_MAX:.0e}"}
            ]
    if not errors and low is not None and high is not None and low > high:
        errors["max_value"] = [_("The highest number is below the lowest.")]
    if errors:
        raise ValidationError(errors)


def question_create(
    *,
    block: Block,
    code: str,
    kind: str,
    text_en: str,
    text_ko: str = "",
    options: list[tuple[str, str, str]] | None = None,
    user=None,
    **fields: Any,
) -> Question:
    """Add a draft question; ``options`` are ``(code, text_en, text_ko)`` in display order."""
    survey = block.survey
    _editable(survey)
    if kind not in QuestionKind.values:
        raise ValidationError({"kind": [_("Unknown question kind %(kind)r.") % {"kind": kind}]})
    if survey.questions.filter(code=code).exists():
        raise ValidationError(
            {"code": [_("The survey already has a question %(code)r.") % {"code": code}]}
        )
    options = options or []
    codes = _check_options(kind, options)
    for name in ("answer_key", "expected_option"):
        if fields.get(name) and fields[name] not in codes:
            raise ValidationError(
                {name: [_("%(value)r is not an option of the question.") % {"value": fields[name]}]}
            )
    if fields.get("is_attention_check") and not fields.get("expected_option"):
        raise ValidationError(
            {"expected_option": [_("An attention check needs an expected option.")]}
        )
    _check_number_limits(fields.get("min_value"), fields.get("max_value"))
    question = Question.objects.create(
        survey=survey,
        block=block,
        code=code,
        kind=kind,
        text_en=text_en,
        text_ko=text_ko,
        order=block.questions.count(),
        created_by=user,
        **fields,
    )
    Option.objects.bulk_create(
        [
            Option(question=question, code=c, text_en=en, text_ko=ko, order=i)
            for i, (c, en, ko) in enumerate(options)
        ]
    )
    return question


@transaction.atomic
def question_add(
    *,
    survey: Survey,
    block_id: int | None,
    block_title_en: str = "",
    block_title_ko: str = "",
    user=None,
    **question: Any,
) -> Question:
    """The questionnaire editor's use case: a question in an existing block of the survey, or
    in a new block (``block_id`` None), created together or not at all. The survey row is
    locked, so two editors adding at once get distinct positions."""
    survey = Survey.objects.select_for_update().get(pk=survey.pk)
    _editable(survey)
    if block_id is None:
        block = block_create(survey=survey, title_en=block_title_en, title_ko=block_title_ko)
    else:
        found = Block.objects.filter(pk=block_id, survey=survey).first()
        if found is None:
            raise ValidationError({"block": [_("No such block in this survey.")]})
        block = found
    return question_create(block=block, user=user, **question)


def option_create(*, question: Question, code: str, text_en: str, text_ko: str = "") -> Option:
    with transaction.atomic():
        _editable(question.survey)
        option = Option.objects.create(
            question=question,
            code=code,
            text_en=text_en,
            text_ko=text_ko,
            order=question.options.count(),
        )
        _back_to_draft(question)
    return option


def _back_to_draft(question: Question) -> None:
    if question.review_state != ReviewState.DRAFT:
        question.review_state = ReviewState.DRAFT
        question.save(update_fields=["review_state"])


EDITABLE_FIELDS = {
    "text_en",
    "text_ko",
    "required",
    "min_value",
    "max_value",
    "answer_key",
    "subject",
    "is_attention_check",
    "expected_option",
    "required_approvals",
}


def _check_options(kind: str, options: list[tuple[str, str, str]]) -> list[str]:
    if kind in CHOICE_KINDS and len(options) < 2:
        raise ValidationError({"options": [_("A choice question needs at least two options.")]})
    if kind not in CHOICE_KINDS and options:
        raise ValidationError({"options": [_("Only choice questions have options.")]})
    codes = [o[0] for o in options]
    if len(set(codes)) != len(codes):
        raise ValidationError({"options": [_("Option codes must be unique.")]})
    for number, (code, text_en, text_ko) in enumerate(options, start=1):
        for what, value, limit in (
            ("code", code, 60),
            ("text", text_en, 300),
            ("text", text_ko, 300),
        ):
            if len(value) > limit:
                raise ValidationError(
                    {
                        "options": [
                            _("Option %(number)s: a code of at most %(limit)s characters.")
                            % {"number": number, "limit": limit}
                            if what == "code"
                            else _("Option %(number)s: a text of at most %(limit)s characters.")
                            % {"number": number, "limit": limit}
                        ]
                    }
                )
    return codes


@transaction.atomic
def question_update(
    *, question: Question, options: list[tuple[str, str, str]] | None = None, **fields: Any
) -> Question:
    """Change a question's wording or settings; it goes back to draft for a new review.

    ``options`` (``(code, text_en, text_ko)`` in display order) replaces the question's
    options; a draft survey has no answers yet, so none can point at a removed code.
    """
    question = (
        Question.objects.select_for_update(of=("self",))
        .select_related("survey")
        .get(pk=question.pk)
    )
    _editable(question.survey)
    unknown = set(fields) - EDITABLE_FIELDS
    if unknown:
        raise ValidationError({name: [_("This field cannot be changed.")] for name in unknown})
    if options is None:
        codes = list(question.options.values_list("code", flat=True))
    else:
        codes = _check_options(question.kind, options)
    for name in ("answer_key", "expected_option"):
        value = fields.get(name, getattr(question, name))
        if value and value not in codes:
            raise ValidationError(
                {name: [_("%(value)r is not an option of the question.") % {"value": value}]}
            )
    checking = fields.get("is_attention_check", question.is_attention_check)
    if checking and not fields.get("expected_option", question.expected_option):
        raise ValidationError(
            {"expected_option": [_("An attention check needs an expected option.")]}
        )
    _check_number_limits(
        fields.get("min_value", question.min_value), fields.get("max_value", question.max_value)
    )
    for name, value in fields.items():
        setattr(question, name, value)
    question.review_state = ReviewState.DRAFT
    question.save()
    if options is not None:
        question.options.all().delete()
        Option.objects.bulk_create(
            [
                Option(question=question, code=c, text_en=en, text_ko=ko, order=i)
                for i, (c, en, ko) in enumerate(options)
            ]
        )
    return question


@transaction.atomic
def question_delete(*, question: Question) -> None:
    """Remove a question (with its options and reviews) from a draft survey."""
    _locked_draft(question).delete()


@transaction.atomic
def question_move(*, question: Question, step: int) -> Question:
    """Move a question up (``step`` -1) or down (+1) within its block; the block's questions are
    numbered again from 0. Order is not wording: the review state stays."""
    question = _locked_draft(question)
    siblings = list(Question.objects.filter(block_id=question.block_id).order_by("order", "id"))
    return _moved(siblings, question, step)


@transaction.atomic
def question_submit(*, question: Question, user) -> Question:
    """Draft -> in review; a new review cycle starts (earlier approvals no longer count)."""
    question = Question.objects.select_for_update().get(pk=question.pk)
    if question.review_state != ReviewState.DRAFT:
        raise ValidationError({"review_state": [_("Only a draft question can be submitted.")]})
    question.review_state = ReviewState.IN_REVIEW
    question.review_cycle += 1
    question.save(update_fields=["review_state", "review_cycle"])
    return question


@transaction.atomic
def question_review(
    *, question: Question, reviewer, decision: str, comment: str = ""
) -> QuestionReview:
    """Record one reviewer's decision on a question in review (the question row is locked,
    so two reviewers deciding at once are counted in turn)."""
    question = Question.objects.select_for_update().get(pk=question.pk)
    if question.review_state != ReviewState.IN_REVIEW:
        raise ValidationError({"review_state": [_("The question is not in review.")]})
    if decision not in ReviewDecision.values:
        raise ValidationError(
            {"decision": [_("Unknown decision %(decision)r.") % {"decision": decision}]}
        )
    if question.created_by_id is not None and question.created_by_id == reviewer.pk:
        raise ValidationError({"reviewer": [_("Authors cannot review their own questions.")]})
    if decision == ReviewDecision.REJECT and not comment.strip():
        raise ValidationError({"comment": [_("Say what should change.")]})
    cycle_reviews = question.reviews.filter(cycle=question.review_cycle)
    if cycle_reviews.filter(reviewer=reviewer).exists():
        raise ValidationError({"reviewer": [_("You already reviewed this version.")]})
    approvals = cycle_reviews.filter(decision=ReviewDecision.APPROVE).count()
    review = QuestionReview.objects.create(
        question=question,
        reviewer=reviewer,
        cycle=question.review_cycle,
        round=approvals + 1,
        decision=decision,
        comment=comment,
    )
    if decision == ReviewDecision.REJECT:
        question.review_state = ReviewState.DRAFT
    elif approvals + 1 >= question.required_approvals:
        question.review_state = ReviewState.APPROVED
    question.save(update_fields=["review_state"])
    return review


@transaction.atomic
def survey_open(*, survey: Survey) -> Survey:
    """Start fieldwork. Refused while any question is not approved or there is none."""
    survey = Survey.objects.select_for_update().get(pk=survey.pk)
    if survey.status == SurveyStatus.OPEN:
        return survey
    questions = list(survey.questions.values_list("code", "review_state"))
    if not questions:
        raise ValidationError({"survey": [_("The survey has no questions.")]})
    pending = [code for code, state in questions if state != ReviewState.APPROVED]
    if pending:
        raise ValidationError(
            {
                "survey": [
                    _("These questions are not approved yet: %(codes)s.")
                    % {"codes": ", ".join(pending)}
                ]
            }
        )
    survey.status = SurveyStatus.OPEN
    survey.opened_at = survey.opened_at or timezone.now()
    survey.save(update_fields=["status", "opened_at"])
    return survey


@transaction.atomic
def survey_close(*, survey: Survey) -> Survey:
    Survey.objects.filter(pk=survey.pk).update(status=SurveyStatus.CLOSED)
    survey.refresh_from_db()
    return survey
