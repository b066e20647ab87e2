"""Participants: start (with a quota place held for a while), screener, answers, completion.

Quota places are claimed in the database: a conditional ``UPDATE ... SET reserved = reserved
+ 1 WHERE filled + reserved < target`` either takes a place or changes no row, so concurrent
starts can never hold more places than the cell has (and a CHECK constraint backs it up).
A place is held until ``expires_at``; expired holds are released (``reserved - 1``) by the
next start in the same cell. Completion turns the held place into a filled one.
"""

from __future__ import annotations

import math
import random
import zlib
from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from surveys.models import (
    CHOICE_KINDS,
    Answer,
    Cell,
    Invitation,
    InvitationStatus,
    Question,
    QuestionKind,
    QuotaCell,
    QuotaReservation,
    Response,
    ResponseStatus,
    Survey,
    SurveyStatus,
    cell_key,
)

MAX_TEXT = 5000

# The languages a participant answers in (the first is the default).
RESPONSE_LANGUAGES = ("ko", "en")


class SurveyNotOpen(ValidationError):
    pass


class QuotaHoldLimit(Exception):
    """One address already holds as many quota places as it may (``response_screen``)."""


def _check_open(survey: Survey) -> None:
    if survey.status != SurveyStatus.OPEN:
        raise SurveyNotOpen({"survey": [_("This survey is not open.")]})


def quota_release_expired(*, quota_id: int) -> int:
    """Delete expired holds on one quota cell and give their places back. Safe to run
    concurrently: each hold is deleted once, and only the deleter gives its place back."""
    with transaction.atomic():
        return _release_expired(quota_id)


def quota_release_all_expired() -> int:
    """Give back every expired hold, in every quota cell (for a periodic task or a command;
    starts also do it lazily, cell by cell). Returns the number of places given back."""
    quota_ids = set(
        QuotaReservation.objects.filter(expires_at__lt=timezone.now()).values_list(
            "quota_id", flat=True
        )
    )
    return sum(quota_release_expired(quota_id=q) for q in sorted(quota_ids))


def _release_expired(quota_id: int) -> int:
    """:func:`quota_release_expired` inside the caller's transaction (one DELETE, and one
    UPDATE only when something expired)."""
    deleted, _by_model = QuotaReservation.objects.filter(
        quota_id=quota_id, expires_at__lt=timezone.now()
    ).delete()
    if deleted:
        QuotaCell.objects.filter(pk=quota_id).update(reserved=F("reserved") - deleted)
    return deleted


def _quota_for(survey: Survey, cell: Cell) -> QuotaCell | None:
    if survey.design_id is None:
        return None
    return QuotaCell.objects.filter(design_id=survey.design_id, cell=cell).first()


def _reserve(*, response: Response, quota: QuotaCell, holder: str = "") -> bool:
    """Hold a place of ``quota`` for ``response``; False when the cell is full.

    Call inside the caller's transaction, last: the quota row stays locked from the
    conditional UPDATE until the commit, so the less work after it, the more starts per
    second a busy cell takes.
    """
    _release_expired(quota.pk)
    taken = QuotaCell.objects.filter(pk=quota.pk, filled__lt=F("target") - F("reserved")).update(
        reserved=F("reserved") + 1
    )
    if not taken:
        return False
    QuotaReservation.objects.create(
        quota=quota,
        response=response,
        expires_at=timezone.now() + timedelta(minutes=response.survey.reservation_minutes),
        holder=holder,
    )
    return True


def _screen_out(response: Response) -> None:
    response.status = ResponseStatus.SCREENED_OUT
    response.completed_at = timezone.now()
    response.save(update_fields=["status", "completed_at", "cell", "screener"])
    if response.invitation_id:
        Invitation.objects.filter(pk=response.invitation_id).update(
            status=InvitationStatus.SCREENED_OUT
        )


def response_start(
    *, survey: Survey, invitation: Invitation | None = None, language: str = "ko"
) -> Response:
    """Start a response after consent.

    With an invitation: at most one response (a repeated start returns the first one); the
    panelist's cell is known, so a quota place is claimed at once and the response is
    screened out when the cell is full. Without one (open link) the cell is settled by the
    screener (:func:`response_screen`).
    """
    _check_open(survey)
    language = language if language in RESPONSE_LANGUAGES else "ko"
    with transaction.atomic():
        if invitation is not None:
            invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
            existing = Response.objects.filter(invitation=invitation).first()
            if existing is not None:
                return existing
            response = Response.objects.create(
                survey=survey,
                invitation=invitation,
                token=invitation.token,
                cell=invitation.panelist.cell,
                language=language,
                seed=random.SystemRandom().randrange(2**31),
            )
            response.survey = survey
            invitation.status = InvitationStatus.STARTED
            invitation.save(update_fields=["status"])
            if response.cell is not None and survey.design_id is not None:
                quota = _quota_for(survey, response.cell)
                if quota is None or not _reserve(response=response, quota=quota):
                    _screen_out(response)
            return response
        if not survey.open_link_enabled:
            raise ValidationError({"survey": [_("This survey has no open link.")]})
        response = Response.objects.create(
            survey=survey, language=language, seed=random.SystemRandom().randrange(2**31)
        )
        response.survey = survey
        return response


def response_language_set(*, response: Response, language: str) -> None:
    """The language the participant reads the survey in (``ko`` or ``en``), kept for the
    pages after this one."""
    if language not in RESPONSE_LANGUAGES:
        raise ValidationError({"lang": [_("Choose ko or en.")]})
    if response.language != language:
        Response.objects.filter(pk=response.pk).update(language=language)
        response.language = language


def response_screen(
    *, response: Response, values: dict[str, str], holder: str = "", max_holds: int = 0
) -> Response:
    """Place an open-link participant in the cell given by their screener answers and hold
    a place there; screened out when the cell has no place left (or no quota at all).

    ``holder`` names where the participant came from (a keyed hash of their address); with
    ``max_holds``, a holder who already holds that many unexpired places gets
    :class:`QuotaHoldLimit` and nothing changes (they may screen again later). On PostgreSQL
    the screens of one holder take turns (a transaction-level advisory lock on the holder,
    taken before the count and released at commit), so simultaneous screens from one address
    never hold more than ``max_holds`` places; on SQLite writes take turns anyway.
    Locks the response row (``of=("self",)``: other participants are not held up).
    """
    with transaction.atomic():
        response = (
            Response.objects.select_for_update(of=("self",))
            .select_related("survey__design__population")
            .get(pk=response.pk)
        )
        survey = response.survey
        _check_open(survey)
        if survey.design is None:
            raise ValidationError({"survey": [_("This survey has no population to screen for.")]})
        variables = list(survey.design.population.variables)
        missing = [v for v in variables if not values.get(v)]
        if missing:
            raise ValidationError({v: [_("Please choose an answer.")] for v in missing})
        if response.status != ResponseStatus.STARTED or response.cell_id is not None:
            return response
        key = cell_key([values[v] for v in variables])
        quota = (
            QuotaCell.objects.select_related("cell")
            .filter(design_id=survey.design_id, cell__key=key)
            .first()
        )
        response.screener = {v: values[v] for v in variables}
        if quota is None:
            _screen_out(response)
            return response
        if holder and max_holds:
            _lock_holder(holder)
            held = QuotaReservation.objects.filter(
                holder=holder, expires_at__gte=timezone.now()
            ).count()
            if held >= max_holds:
                raise QuotaHoldLimit(holder)
        response.cell = quota.cell
        response.save(update_fields=["cell", "screener"])
        if not _reserve(response=response, quota=quota, holder=holder):
            _screen_out(response)
    return response


# The first key of the two-key advisory locks that serialise one quota holder's screens.
HOLDER_LOCK = 7_340_002


def _lock_holder(holder: str) -> None:
    """Wait for, and hold until commit, the advisory lock of ``holder`` (PostgreSQL only)."""
    if connection.vendor != "postgresql":
        return
    key = zlib.crc32(holder.encode()) - 2**31  # the lock's second key is a signed int4
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [HOLDER_LOCK, key])


def _parse(question: Question, raw: Any, codes: set[str]) -> dict[str, Any] | None:
    """Turn a submitted value into answer fields; None when left empty. ValueError with a
    participant-facing message when the value cannot be an answer to this question."""
    values = raw if isinstance(raw, list) else [raw]
    values = [str(v).strip() for v in values if v is not None and str(v).strip() != ""]
    if not values:
        return None
    if question.kind in CHOICE_KINDS:
        unknown = [v for v in values if v not in codes]
        if unknown:
            raise ValueError(_("Unknown option: %(codes)s.") % {"codes": ", ".join(unknown)})
        if question.kind != QuestionKind.MULTIPLE and len(values) > 1:
            raise ValueError(_("Choose one option only."))
        ordered = [c for c in codes_order(question) if c in set(values)]
        return {"choices": ordered, "number": None, "text": ""}
    if len(values) > 1:
        raise ValueError(_("Give one answer only."))
    if question.kind == QuestionKind.NUMERIC:
        try:
            number = float(values[0].replace(",", ""))
        except ValueError:
            raise ValueError(_("Enter a number.")) from None
        if not math.isfinite(number):
            raise ValueError(_("Enter a number."))
        if question.min_value is not None and number < question.min_value:
            raise ValueError(
                _("Enter a number of at least %(n)s.") % {"n": f"{question.min_value:g}"}
            )
        if question.max_value is not None and number > question.max_value:
            raise ValueError(
                _("Enter a number of at most %(n)s.") % {"n": f"{question.max_value:g}"}
            )
        return {"choices": [], "number": number, "text": ""}
    text = values[0]
    if len(text) > MAX_TEXT:
        raise ValueError(_("Keep the answer under %(n)s characters.") % {"n": MAX_TEXT})
    return {"choices": [], "number": None, "text": text}


def codes_order(question: Question) -> list[str]:
    return [o.code for o in question.options.all()]


def answers_record(
    *,
    response: Response,
    answers: dict[str, Any],
    questions: list[Question] | None = None,
    draft: bool = False,
) -> list[Answer]:
    """Record answers given as ``{question code: value}`` (a list for multiple choice).

    ``questions`` are those shown on the page (a block); their required questions must be
    answered. Every value is checked first; any problem raises ``ValidationError`` keyed by
    question code and nothing is written. Recording the same answers again changes nothing
    (one answer per question, updated in place). The response row is locked, so two
    submissions of the same page are applied one after the other.

    ``draft=True`` (the participant leaves the page by "Back" or a language switch) keeps
    what can be kept: the valid answers are written, missing and invalid ones are left out
    without an error (a missing answer leaves an earlier one in place).
    """
    with transaction.atomic():
        response = (
            Response.objects.select_for_update(of=("self",))
            .select_related("survey")
            .get(pk=response.pk)
        )
        survey = response.survey
        _check_open(survey)
        if response.status == ResponseStatus.COMPLETED:
            raise ValidationError({"response": [_("This response is already complete.")]})
        if response.status == ResponseStatus.SCREENED_OUT:
            raise ValidationError({"response": [_("This response was screened out.")]})
        if survey.design_id is not None and response.cell_id is None:
            raise ValidationError({"response": [_("Answer the screener questions first.")]})
        if questions is not None:
            # The page's own questions, read by the page with their options: only they can be
            # answered here.
            all_questions = {q.code: q for q in questions if q.survey_id == survey.pk}
        else:
            all_questions = {
                q.code: q for q in survey.questions.prefetch_related("options").order_by()
            }
        unknown = sorted(set(answers) - set(all_questions))
        if unknown:
            raise ValidationError({code: [_("Unknown question.")] for code in unknown})
        shown = (
            list(all_questions.values())
            if questions is not None
            else [all_questions[c] for c in answers]
        )
        errors: dict[str, list[str]] = {}
        parsed: dict[int, tuple[Question, dict[str, Any]]] = {}
        for question in shown:
            question = all_questions[question.code]
            raw = answers.get(question.code)
            try:
                value = _parse(question, raw, set(codes_order(question)))
            except ValueError as exc:
                if not draft:
                    errors[question.code] = [str(exc)]
                continue
            if value is None:
                if question.required and not draft:
                    errors[question.code] = [_("This question needs an answer.")]
                continue
            parsed[question.pk] = (question, value)
        if errors:
            raise ValidationError(errors)
        existing = {a.question_id: a for a in response.answers.filter(question_id__in=parsed)}
        saved = []
        new = []
        flagged = response.flagged_attention
        for question_id, (question, value) in parsed.items():
            answer = existing.get(question_id)
            if answer is None:
                answer = Answer(response=response, question=question, **value)
                new.append(answer)
            elif any(getattr(answer, k) != v for k, v in value.items()):
                for k, v in value.items():
                    setattr(answer, k, v)
                answer.save()
            saved.append(answer)
            if question.is_attention_check and value["choices"] != [question.expected_option]:
                flagged = True
        # One statement for the page's new answers (the response row lock keeps them unique).
        Answer.objects.bulk_create(new)
        if flagged != response.flagged_attention:
            response.flagged_attention = flagged
            response.save(update_fields=["flagged_attention"])
    return saved


def response_complete(*, response: Response) -> Response:
    """Finish a response: every required question must be answered. The held quota place
    becomes a filled one; if the hold expired and the cell has filled up meanwhile, the
    response is screened out. Completing twice is harmless (the first result stands)."""
    with transaction.atomic():
        response = (
            Response.objects.select_for_update(of=("self",))
            .select_related("survey")
            .get(pk=response.pk)
        )
        if response.status != ResponseStatus.STARTED:
            return response
        survey = response.survey
        _check_open(survey)
        answered = set(response.answers.values_list("question_id", flat=True))
        missing = list(
            survey.questions.filter(required=True)
            .exclude(pk__in=answered)
            .values_list("code", flat=True)
        )
        if missing:
            raise ValidationError({code: [_("This question needs an answer.")] for code in missing})
        if survey.design_id is not None:
            cell = response.cell
            if cell is None:
                raise ValidationError({"response": [_("Answer the screener questions first.")]})
            released, _by_model = QuotaReservation.objects.filter(response=response).delete()
            quota = _quota_for(survey, cell)
            if quota is None:
                _screen_out(response)
                return response
            if released:
                QuotaCell.objects.filter(pk=quota.pk).update(
                    filled=F("filled") + 1, reserved=F("reserved") - 1
                )
            else:
                _release_expired(quota.pk)
                took = QuotaCell.objects.filter(
                    pk=quota.pk, filled__lt=F("target") - F("reserved")
                ).update(filled=F("filled") + 1)
                if not took:
                    _screen_out(response)
                    return response
        response.status = ResponseStatus.COMPLETED
        response.completed_at = timezone.now()
        response.save(update_fields=["status", "completed_at"])
        if response.invitation_id:
            Invitation.objects.filter(pk=response.invitation_id).update(
                status=InvitationStatus.COMPLETED
            )
    return response
