"""Participant pages: one URL per participant, ``/surveys/r/<token>/``.

The token is an invitation's, a response's (open-link entrants get their own) or a survey's
open-link token. The page shown follows the response's state: consent -> screener (open
links) -> one page per block -> completion (or the screened-out page). Answers are saved page
by page, so the same link resumes where the participant left. Plain HTML forms; no
JavaScript needed. Language: ``?lang=ko|en`` or the choice on the consent page.

Forms carry a key made for each rendering (``idempotency_key``): a form sent twice (a double
click, a retry after a timeout) gets the first sending's redirect and writes nothing twice.
Open links are rate limited per address: starts per minute, and quota places held at once
(``RATE_LIMITS``, ``QUOTA_HOLDS_PER_ADDRESS``); so are failed token look-ups. Past a limit the
participant gets a friendly page with 429.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import translation
from django.utils.crypto import salted_hmac
from django.views.decorators.cache import never_cache

from config.throttling import OpenLinkStartThrottle, TokenMissThrottle, client_address
from idempotency.keys import form_fingerprint, new_key, page_key, page_redirect
from idempotency.selectors import stored_outcome
from idempotency.services import IdempotencyKeyReused, Outcome, idempotent_form_run
from surveys import services
from surveys.models import (
    Answer,
    Invitation,
    InvitationStatus,
    QuestionKind,
    Response,
    ResponseStatus,
    Survey,
    SurveyStatus,
)
from surveys.services.responses import RESPONSE_LANGUAGES, QuotaHoldLimit, SurveyNotOpen

LANGUAGES = RESPONSE_LANGUAGES
SESSION_KEY = "surveys_open_responses"


def _link(token: str, **params) -> str:
    url = reverse("surveys:participant", args=[token])
    query = "&".join(f"{k}={v}" for k, v in params.items() if v)
    return f"{url}?{query}" if query else url


def _language(request, survey: Survey, response: Response | None) -> str:
    wanted = request.GET.get("lang") or request.POST.get("lang")
    if wanted in LANGUAGES:
        return wanted
    if response is not None:
        return response.language
    offered = [lang for lang in survey.languages if lang in LANGUAGES] or ["ko"]
    current = (getattr(request, "LANGUAGE_CODE", "") or "")[:2]
    return current if current in offered else offered[0]


def _render(request, template: str, context: dict, language: str, status: int = 200):
    survey = context["survey"]
    context = {
        **context,
        "lang": language,
        "other_lang": "en" if language == "ko" else "ko",
        "survey_title": survey.title(language),
    }
    with translation.override(language):
        return render(request, f"surveys/participant/{template}", context, status=status)


def _too_many(request, survey: Survey, language: str, retry_after: int) -> HttpResponse:
    page = _render(request, "too_many.html", {"survey": survey}, language, status=429)
    page["Retry-After"] = str(retry_after)
    return page


def _holder(request) -> str:
    """Where an open-link participant came from: a keyed hash of their address."""
    address = client_address(request)
    return salted_hmac("surveys.quota-holder", address, algorithm="sha256").hexdigest()[:32]


def _stored(request, scope: str) -> Outcome | None:
    """The outcome of this form's first sending, when this is a second one."""
    try:
        return stored_outcome(
            scope=scope, key=page_key(request), fingerprint=form_fingerprint(request.POST)
        )
    except IdempotencyKeyReused:
        return None


def _once(request, scope: str, action: Callable[[], Outcome]) -> Outcome:
    """Run a form's submit once per form key."""
    return idempotent_form_run(
        scope=scope,
        key=page_key(request),
        fingerprint=form_fingerprint(request.POST),
        action=action,
    )


def _resolve(token: str):
    response = Response.objects.select_related("survey", "cell").filter(token=token).first()
    if response is not None:
        return response.survey, response, None
    invitation = (
        Invitation.objects.select_related("survey", "panelist__cell").filter(token=token).first()
    )
    if invitation is not None:
        return invitation.survey, None, invitation
    survey = Survey.objects.filter(open_token=token, open_link_enabled=True).first()
    if survey is not None:
        return survey, None, None
    raise Http404("No such survey link.")


@never_cache
def participant(request, token: str):
    misses = TokenMissThrottle()
    if misses.blocked(request):
        page = render(request, "429.html", status=429)
        page["Retry-After"] = str(misses.retry_after())
        return page
    try:
        survey, response, invitation = _resolve(token)
    except Http404:
        misses.record(request)
        raise
    language = _language(request, survey, response)
    if response is None:
        if invitation is None:
            # Open link: someone who already started here resumes their own response.
            mine = request.session.get(SESSION_KEY, {}).get(str(survey.pk))
            if mine:
                return HttpResponseRedirect(_link(mine, lang=request.GET.get("lang")))
        return _consent(request, survey, invitation, language)
    if request.method == "POST":
        # Before the state checks: a page sent again after it completed the response gets
        # the same redirect as the first time; so does an invitation's consent sent again
        # (the invitation's link now leads to the response).
        for scope in (_answers_scope(response), _start_scope(survey, response.invitation_id)):
            if replay := _stored(request, scope):
                return page_redirect(replay)
    if request.method == "POST" and request.GET.get("lang") in LANGUAGES:
        # A page shown in the other language (a ?lang= link) keeps it once the participant
        # acts on it; showing a page writes nothing.
        services.response_language_set(response=response, language=language)
    if response.status == ResponseStatus.SCREENED_OUT:
        return _render(request, "screened_out.html", {"survey": survey}, language)
    if response.status == ResponseStatus.COMPLETED:
        return _render(request, "complete.html", {"survey": survey}, language)
    if survey.status != SurveyStatus.OPEN:
        return _render(request, "closed.html", {"survey": survey}, language)
    if survey.design_id is not None and response.cell_id is None:
        return _screener(request, survey, response, language)
    return _questions(request, survey, response, language)


def _consent(request, survey: Survey, invitation: Invitation | None, language: str):
    if survey.status != SurveyStatus.OPEN:
        return _render(request, "closed.html", {"survey": survey}, language)
    if invitation is not None and invitation.status == InvitationStatus.REFUSED:
        return _render(request, "refused.html", {"survey": survey}, language)
    error = ""
    if request.method == "POST":
        if invitation is not None and request.POST.get("refuse") == "yes":
            services.invitation_refuse(invitation=invitation)
            return _render(request, "refused.html", {"survey": survey}, language)
        if request.POST.get("consent") == "yes":
            scope = _start_scope(survey, invitation.pk if invitation else None)
            outcome = _stored(request, scope)
            if outcome is None and invitation is None:
                throttle = OpenLinkStartThrottle()
                # DRF's stubs want an APIView, but this is a plain Django page: the view is
                # only handed to get_cache_key, which keys this throttle on the address alone.
                if not throttle.allow_request(request, None):  # type: ignore[arg-type]
                    return _too_many(request, survey, language, throttle.retry_after())

            def start() -> Outcome:
                response = services.response_start(
                    survey=survey, invitation=invitation, language=language
                )
                token = response.token
                return Outcome(status=302, location=_link(token), body={"token": token})

            if outcome is None:
                try:
                    outcome = _once(request, scope, start)
                except SurveyNotOpen:
                    return _render(request, "closed.html", {"survey": survey}, language)
            if invitation is None:
                started = request.session.get(SESSION_KEY, {})
                started[str(survey.pk)] = outcome.body["token"]
                request.session[SESSION_KEY] = started
            return page_redirect(outcome)
        error = "consent"
    context = {
        "survey": survey,
        "intro": survey.intro(language),
        "error": error,
        "idempotency_key": new_key(),
        "may_refuse": invitation is not None,
    }
    return _render(request, "consent.html", context, language, status=400 if error else 200)


def _screener(request, survey: Survey, response: Response, language: str):
    """The screener page of a survey with a sample design: the population's strata."""
    design = survey.design
    if design is None:
        raise ValueError(f"Survey {survey.pk} has no sample design to screen for.")
    population = design.population
    variables = list(population.variables)
    choices: dict[str, list[str]] = {v: [] for v in variables}
    for values in population.cells.filter(count__gt=0).values_list("values", flat=True):
        for v in variables:
            if values.get(v) not in choices[v]:
                choices[v].append(values.get(v))
    errors: dict = {}
    chosen = {v: request.POST.get(v, "") for v in variables}
    if request.method == "POST":
        holder = _holder(request) if response.invitation_id is None else ""
        max_holds = settings.QUOTA_HOLDS_PER_ADDRESS if settings.RATE_LIMITS_ENABLED else 0
        try:
            response = services.response_screen(
                response=response, values=chosen, holder=holder, max_holds=max_holds
            )
        except QuotaHoldLimit:
            return _too_many(request, survey, language, retry_after=60)
        except SurveyNotOpen:
            return _render(request, "closed.html", {"survey": survey}, language)
        except ValidationError as exc:
            errors = exc.message_dict
        else:
            return HttpResponseRedirect(_link(response.token))
    fields = [
        {
            "name": v,
            "choices": [(c, population.label(v, c, language)) for c in choices[v]],
            "chosen": chosen[v],
            "errors": errors.get(v, []),
        }
        for v in variables
    ]
    context = {"survey": survey, "fields": fields, "errors": errors}
    return _render(request, "screener.html", context, language, status=400 if errors else 200)


def _ordered(items: list, seed: int, salt: str, shuffle: bool) -> list:
    if shuffle:
        items = list(items)
        random.Random(f"{seed}:{salt}").shuffle(items)
    return items


def _questions(request, survey: Survey, response: Response, language: str):
    blocks = list(survey.blocks.all())
    if not blocks:
        raise Http404("This survey has no questions.")
    questions_by_block: dict[int, list] = {b.pk: [] for b in blocks}
    answered: dict[int, Answer] = {a.question_id: a for a in response.answers.all()}
    questions = list(survey.questions.prefetch_related("options").order_by("order", "id"))
    for q in questions:
        questions_by_block[q.block_id].append(q)
    if request.method == "POST":
        number = _page_number(request.POST.get("page"), len(blocks))
    elif request.GET.get("page"):
        number = _page_number(request.GET.get("page"), len(blocks))
    else:
        number = _resume_page(blocks, questions_by_block, answered)
    block = blocks[number - 1]
    shown = _ordered(
        questions_by_block[block.pk], response.seed, f"b{block.pk}", survey.randomize_questions
    )
    errors: dict = {}
    submitted: dict[str, list[str]] = {}
    if request.method == "POST":
        submitted = {q.code: request.POST.getlist(q.code) for q in shown}
        answers = {
            code: (values if len(values) != 1 else values[0]) for code, values in submitted.items()
        }
        leave = _leaving(request.POST.get("go", ""), number)
        if leave is not None:
            # "Back" and the language switch submit the page as a draft: what was ticked is
            # kept, nothing is checked, and the participant lands where they asked to go.
            try:
                services.answers_record(
                    response=response, answers=answers, questions=shown, draft=True
                )
            except SurveyNotOpen:
                return _render(request, "closed.html", {"survey": survey}, language)
            except ValidationError:
                pass  # a completed or screened-out response: the redirect shows its page
            page, lang = leave
            if lang:
                services.response_language_set(response=response, language=lang)
            return HttpResponseRedirect(_link(response.token, lang=lang, page=page))

        def record() -> Outcome:
            services.answers_record(response=response, answers=answers, questions=shown)
            if number < len(blocks):
                return Outcome(status=302, location=_link(response.token, page=number + 1))
            try:
                services.response_complete(response=response)
            except ValidationError as exc:
                # The page's answers stay saved; the key is not kept, so sending the page
                # again tries to complete again.
                closed = isinstance(exc, SurveyNotOpen)
                body = {"errors": exc.message_dict, "closed": closed}
                return Outcome(status=400, body=body, keep=False)
            return Outcome(status=302, location=_link(response.token))

        try:
            with translation.override(language):
                outcome = _once(request, _answers_scope(response), record)
        except SurveyNotOpen:
            return _render(request, "closed.html", {"survey": survey}, language)
        except ValidationError as exc:
            errors = exc.message_dict
        else:
            if outcome.status == 302:
                return page_redirect(outcome)
            if outcome.body["closed"]:
                return _render(request, "closed.html", {"survey": survey}, language)
            errors = outcome.body["errors"]
    items = []
    for q in shown:
        answer = answered.get(q.pk)
        if q.code in submitted:
            current = submitted[q.code]
        elif answer is None:
            current = []
        elif q.kind == QuestionKind.NUMERIC:
            current = [f"{answer.number:g}"] if answer.number is not None else []
        elif q.kind == QuestionKind.TEXT:
            current = [answer.text]
        else:
            current = answer.choices
        options = list(q.options.all())
        options = _ordered(
            options,
            response.seed,
            f"q{q.pk}",
            survey.randomize_options and q.kind != QuestionKind.SCALE,
        )
        items.append(
            {
                "question": q,
                "text": q.text(language),
                "options": [
                    {"code": o.code, "text": o.text(language), "checked": o.code in current}
                    for o in options
                ],
                "value": current[0] if current else "",
                "errors": errors.get(q.code, []),
                "min": _number_text(q.min_value),
                "max": _number_text(q.max_value),
            }
        )
    general = [m for k, msgs in errors.items() if k not in submitted for m in msgs]
    context = {
        "survey": survey,
        "response": response,
        "block_title": block.title(language),
        "items": items,
        "page": number,
        "pages": len(blocks),
        "percent": round(100 * (number - 1) / len(blocks)),
        "is_last": number == len(blocks),
        "errors": errors,
        "general_errors": general,
        "token": response.token,
        "idempotency_key": new_key(),
        # The header's language switch submits this page's form (as a draft).
        "answers_form": "answers-form",
    }
    return _render(request, "questions.html", context, language, status=400 if errors else 200)


def _leaving(go: str, number: int) -> tuple[int, str] | None:
    """Where a draft submission goes: ``back`` (the page before) or ``lang:ko|en`` (the same
    page in that language); None for a plain submission (Next, Finish)."""
    if go == "back":
        return max(number - 1, 1), ""
    if go.startswith("lang:") and go[5:] in LANGUAGES:
        return number, go[5:]
    return None


def _number_text(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def _answers_scope(response: Response) -> str:
    return f"surveys.answers:{response.pk}"


def _start_scope(survey: Survey, invitation_id: int | None) -> str:
    return f"surveys.start:{survey.pk}:{invitation_id or 'open'}"


def _page_number(raw, pages: int) -> int:
    try:
        number = int(raw)
    except (TypeError, ValueError):
        return 1
    return min(max(number, 1), pages)


def _resume_page(blocks, questions_by_block, answered) -> int:
    """The first page with a required question not yet answered (the last page if none)."""
    for i, block in enumerate(blocks, start=1):
        if any(q.required and q.pk not in answered for q in questions_by_block[block.pk]):
            return i
    return len(blocks)
