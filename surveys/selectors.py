"""Reads on surveys: respondent tables, the vote table, ground truth, dashboard figures.

Weighting and estimation are done by :mod:`surveys.weighting`; this module turns querysets
into the DataFrames it takes.

Respondents are the completed responses that passed their attention checks; a response that
failed one keeps its answers (exports show the flag) but carries no weight and casts no vote.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
from django.db.models import Count, Prefetch, Q, Sum
from django.db.models.functions import TruncDate
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from sources import pseudonyms
from surveys import representativeness, weighting
from surveys.models import (
    Answer,
    Block,
    Draw,
    DrawKind,
    Invitation,
    InvitationStatus,
    Option,
    Panel,
    Panelist,
    Population,
    Question,
    QuestionKind,
    QuestionReview,
    QuotaCell,
    Response,
    ResponseStatus,
    ReviewState,
    SampleDesign,
    Survey,
    SurveyStatus,
)

VOTER_NAMESPACE = "survey-response"


def voter_key(token: str) -> str:
    """Pseudonymous participant key of a response (:func:`sources.pseudonyms.voter_key` of
    its token): stable, meaningless without the pseudonym key, never a name or an email."""
    return pseudonyms.voter_key(VOTER_NAMESPACE, token)


def respondents_queryset(survey: Survey):
    return Response.objects.filter(
        survey=survey, status=ResponseStatus.COMPLETED, flagged_attention=False
    )


def respondents_frame(*, survey: Survey) -> pd.DataFrame:
    """One row per respondent: id, token, cell key, stratum values, stored weight."""
    rows = list(
        respondents_queryset(survey)
        .order_by("id")
        .values_list("id", "token", "cell__key", "cell__values", "weight__value")
    )
    frame = pd.DataFrame(rows, columns=["response_id", "token", "cell", "values", "weight"])
    design = survey.design
    variables = design.population.variables if design is not None else []
    for v in variables:
        frame[v] = [(vals or {}).get(v) for vals in frame["values"]]
    return frame.drop(columns="values")


@dataclass(frozen=True)
class Calibration:
    design: weighting.SurveyDesign
    method: str


# Joins a cell's (merged) category values into one key; no category holds this character.
_KEY_SEP = "\x1f"


def _merge(survey: Survey, variable: str, value):
    return (survey.weighting_merges or {}).get(variable, {}).get(value, value)


def weighting_targets(
    *, survey: Survey, frame: pd.DataFrame
) -> tuple[list[str], pd.Series, dict[Hashable, float], dict[str, dict[Hashable, float]]]:
    """What weighting aims at, after the survey's merges of categories: the stratification
    variables, each respondent's (merged) cell, the population count per (merged) cell and
    per category of each variable (categories with nobody in the population left out).

    The survey must have a sample design (``ValueError`` otherwise)."""
    if survey.design is None:
        raise ValueError(f"Survey {survey.pk} has no sample design to weight to.")
    population = survey.design.population
    variables = list(population.variables)
    # By id: the model's ordering (population name first) would join the population again.
    cells = list(population.cells.order_by("id"))
    totals: dict[Hashable, float] = {}
    margins: dict[str, dict[Hashable, float]] = {v: {} for v in variables}
    for c in cells:
        merged = [_merge(survey, v, c.values[v]) for v in variables]
        key = _KEY_SEP.join(merged)
        totals[key] = totals.get(key, 0) + c.count
        for v, value in zip(variables, merged, strict=True):
            margins[v][value] = margins[v].get(value, 0) + c.count
    respondent_cells = pd.Series(
        [
            _KEY_SEP.join(_merge(survey, v, row[v]) for v in variables)
            for row in frame[variables].to_dict("records")
        ],
        dtype=object,
    )
    return (
        variables,
        respondent_cells,
        {k: t for k, t in totals.items() if t > 0},
        {v: {k: t for k, t in m.items() if t > 0} for v, m in margins.items()},
    )


def calibrate(*, survey: Survey, frame: pd.DataFrame) -> Calibration:
    """The weighting design for the respondents in ``frame`` (rows in that order), by the
    survey's weighting method, after merging the categories it merges:

    * ``poststratify``: to the population's cell counts (every populated cell needs a
      respondent);
    * ``rake``: to the margins of each stratification variable (every category of each
      variable needs a respondent; a cell may be empty);
    * ``auto``: post-stratify when every populated cell has a respondent, else rake;
    * ``none``: everyone weighs 1 (so does a survey without a population, or with respondents
      outside every cell).

    Then weights above ``weight_trim`` times the mean are trimmed (their excess spread over
    the others, :func:`surveys.weighting.trim_weights`); the trimmed design's variance no
    longer counts the calibration. Raises ``CalibrationError`` when the targets cannot be met.
    """
    n = len(frame)
    if n == 0:
        raise weighting.CalibrationError(gettext("The survey has no respondents to weight."))
    method = survey.weighting_method
    if method == "none" or survey.design_id is None or frame["cell"].isna().any():
        return Calibration(weighting.survey_design(weights=np.ones(n)), "none")
    variables, cells, totals, margins = weighting_targets(survey=survey, frame=frame)
    base = weighting.survey_design(weights=np.full(n, sum(totals.values()) / n))
    if method == "auto":
        method = "poststratify" if set(totals) <= set(cells) else "rake"
    if method == "poststratify":
        design = weighting.poststratify(base, cells, totals)
    else:
        design = weighting.rake(
            base,
            {
                v: (np.asarray([_merge(survey, v, x) for x in frame[v]], dtype=object), margins[v])
                for v in variables
            },
            tol=1e-8,
            max_iter=500,
        )
    if survey.weight_trim:
        trimmed = weighting.trim_weights(design.weights, upper=survey.weight_trim, relative=True)
        return Calibration(weighting.survey_design(weights=trimmed), f"{method}+trim")
    return Calibration(design, method)


def empty_categories(*, survey: Survey, frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Categories of the population (after merges) that no respondent is in, per variable,
    each with the other categories it could be merged with."""
    if survey.design_id is None or frame.empty:
        return []
    variables, _cells, _totals, margins = weighting_targets(survey=survey, frame=frame)
    out = []
    for v in variables:
        present = {_merge(survey, v, x) for x in frame[v]}
        for category in margins[v]:
            if category not in present:
                others = [c for c in margins[v] if c != category]
                out.append({"variable": v, "category": category, "others": others})
    return out


@dataclass(frozen=True)
class Estimation:
    """The design estimates use, and whether it is weighted: ``error`` says why weighting
    failed (the design then weighs everyone 1)."""

    design: weighting.SurveyDesign
    method: str
    error: str = ""

    @property
    def weighted(self) -> bool:
        return self.method != "none" and not self.error


def estimation(*, survey: Survey, frame: pd.DataFrame) -> Estimation:
    """The calibrated design, or, when the targets cannot be met, an unweighted one with the
    reason (estimates are then those of the respondents as they are, and say so)."""
    try:
        result = calibrate(survey=survey, frame=frame)
    except (weighting.CalibrationError, ValueError) as exc:
        return Estimation(weighting.survey_design(weights=np.ones(len(frame))), "none", str(exc))
    return Estimation(result.design, result.method)


def estimation_design(*, survey: Survey, frame: pd.DataFrame) -> weighting.SurveyDesign:
    return estimation(survey=survey, frame=frame).design


CHOICE_KINDS = (QuestionKind.SINGLE, QuestionKind.SCALE, QuestionKind.MULTIPLE)


def _options_in_order() -> Prefetch:
    # Each question's options in their order; the model's ordering (by question first) would
    # join the questions and blocks again for nothing.
    return Prefetch("options", Option.objects.order_by("question_id", "order", "id"))


def _labelled_questions(survey: Survey, kinds) -> list[Question]:
    """The survey's questions of ``kinds`` that carry a label (attention checks measure the
    respondent, not the population, so they are left out), in the questionnaire's order,
    with their options."""
    return list(
        survey.questions.filter(is_attention_check=False, kind__in=kinds)
        .select_related("block")
        .prefetch_related(_options_in_order())
    )


def choice_questions(survey: Survey) -> list[Question]:
    return _labelled_questions(survey, CHOICE_KINDS)


def _result_questions(survey: Survey) -> tuple[list[Question], list[Question]]:
    """The choice questions (:func:`choice_questions`) and the number questions, from one
    query."""
    questions = _labelled_questions(survey, [*CHOICE_KINDS, QuestionKind.NUMERIC])
    return (
        [q for q in questions if q.kind in CHOICE_KINDS],
        [q for q in questions if q.kind == QuestionKind.NUMERIC],
    )


def _answers(
    survey: Survey, frame: pd.DataFrame, questions: list[Question]
) -> list[tuple[int, int, list[str], float | None]]:
    """``(response_id, question_id, choices, number)`` of the survey's respondents to
    ``questions``, in one query (unordered: callers place them by their position in
    ``frame``, and pass over a respondent who completed since it was read). The respondents
    are a subquery, not one parameter each."""
    if frame.empty or not questions:
        return []
    return list(
        Answer.objects.filter(
            response__in=respondents_queryset(survey).values("id"),
            question_id__in=[q.pk for q in questions],
        )
        .order_by()
        .values_list("response_id", "question_id", "choices", "number")
    )


def survey_vote_table(*, survey: Survey) -> pd.DataFrame:
    """The survey as votes (see :mod:`sources.schema`): one row per chosen option of every
    choice question by every respondent.

    Columns: ``item`` ("<survey id>:<question code>"), ``voter`` (pseudonym of the response
    token), ``label`` (option code), ``weight`` (final weight, 1.0 if not computed),
    ``role`` ("primary"), ``stratum`` (cell key) and one column per stratification variable.
    The questions' wording, options and keys are item content: see
    :meth:`surveys.sources.SurveySource.item_table`.
    """
    frame = respondents_frame(survey=survey)
    variables = [c for c in frame.columns if c not in {"response_id", "token", "cell", "weight"}]
    questions = {q.pk: q for q in choice_questions(survey)}
    answers = list(
        Answer.objects.filter(
            response_id__in=frame["response_id"].tolist(), question_id__in=list(questions)
        )
        .order_by("question_id", "response_id")
        .values_list("response_id", "question_id", "choices")
    )
    columns = ["item", "voter", "label", "weight", "role", "stratum", *variables]
    if not answers:
        return pd.DataFrame(columns=columns)
    by_response = frame.set_index("response_id")
    voters = dict(
        zip(
            frame["response_id"],
            pseudonyms.voter_keys(VOTER_NAMESPACE, frame["token"]),
            strict=True,
        )
    )
    rows = []
    for response_id, question_id, choices in answers:
        for code in choices:
            rows.append((response_id, question_id, code))
    long = pd.DataFrame(rows, columns=["response_id", "question_id", "label"])
    keys = {pk: q.key for pk, q in questions.items()}
    out = pd.DataFrame(
        {
            "item": [keys[i] for i in long["question_id"]],
            "voter": [voters[r] for r in long["response_id"]],
            "label": long["label"].astype(str),
            "weight": by_response.loc[long["response_id"], "weight"].fillna(1.0).to_numpy(),
            "role": "primary",
            "stratum": by_response.loc[long["response_id"], "cell"].to_numpy(),
        }
    )
    for v in variables:
        out[v] = by_response.loc[long["response_id"], v].to_numpy()
    return out[columns]


def survey_ground_truth(*, survey: Survey, alpha: float = 0.05) -> list[dict]:
    """Each choice question's weighted answer distribution with standard errors and logit
    intervals (:func:`surveys.weighting.estimate_proportions`) under the calibrated design.

    Single choice and scales: shares of the options among those who answered. Multiple
    choice: for each option, the share of those who answered that chose it.
    """
    frame = respondents_frame(survey=survey)
    if frame.empty:
        return [_empty(q) for q in choice_questions(survey)]
    design = estimation_design(survey=survey, frame=frame)
    return _distributions(survey=survey, frame=frame, design=design, alpha=alpha)


def _distributions(
    *,
    survey: Survey,
    frame: pd.DataFrame,
    design: weighting.SurveyDesign,
    alpha: float,
    questions: list[Question] | None = None,
    answer_rows: list[tuple[int, int, list[str], float | None]] | None = None,
) -> list[dict]:
    """Each choice question's distribution; ``questions`` and ``answer_rows`` (of
    :func:`_result_questions` and :func:`_answers`) when the caller has read them already."""
    if questions is None:
        questions = choice_questions(survey)
    if frame.empty or not questions:
        return [_empty(q) for q in questions]
    if answer_rows is None:
        answer_rows = _answers(survey, frame, questions)
    position = {rid: i for i, rid in enumerate(frame["response_id"])}
    chosen: dict[int, dict[int, list[str]]] = {q.pk: {} for q in questions}
    for response_id, question_id, choices, _number in answer_rows:
        if question_id in chosen and response_id in position:
            chosen[question_id][position[response_id]] = choices
    out = []
    n = len(frame)
    for question in questions:
        options = list(question.options.all())
        codes = [o.code for o in options]
        answers = chosen[question.pk]
        if not answers:
            out.append(_empty(question))
            continue
        rows = []
        if question.kind == QuestionKind.MULTIPLE:
            for o in options:
                values = np.full(n, None, dtype=object)
                for i, c in answers.items():
                    values[i] = "yes" if o.code in c else "no"
                share = _estimate(values, design, ["no", "yes"], alpha).iloc[1]
                rows.append(_row(o, share))
        else:
            values = np.full(n, None, dtype=object)
            for i, c in answers.items():
                values[i] = c[0] if c else None
            est = _estimate(values, design, codes, alpha)
            rows = [_row(o, est.iloc[k]) for k, o in enumerate(options)]
        out.append(_distribution(question, n=len(answers), options=rows))
    return out


def _number_summaries(
    *,
    frame: pd.DataFrame,
    design: weighting.SurveyDesign,
    alpha: float,
    questions: list[Question],
    answers: list[tuple[int, int, list[str], float | None]],
) -> list[dict]:
    """Each number question's weighted mean (:func:`surveys.weighting.estimate_mean`) and
    median (:func:`surveys.weighting.estimate_quantile`) with their intervals, over those who
    answered; intervals are ``None`` below two answers."""
    out = []
    position = {rid: i for i, rid in enumerate(frame["response_id"])}
    values = {q.pk: np.full(len(frame), np.nan) for q in questions}
    for response_id, question_id, _choices, number in answers:
        if question_id in values and number is not None and response_id in position:
            values[question_id][position[response_id]] = number
    for question in questions:
        y = values[question.pk]
        answered = int(np.count_nonzero(~np.isnan(y)))
        row: dict[str, Any] = {
            "code": question.code,
            "question": question.text_en,
            "question_ko": question.text_ko,
            "n": answered,
            "mean": None,
            "median": None,
        }
        if answered:
            several = answered >= 2 and design.n >= 2
            mean: weighting.MeanEstimate | SimpleNamespace
            median: weighting.QuantileEstimate | SimpleNamespace
            if design.n >= 2:
                mean = weighting.estimate_mean(y, design, alpha=alpha)
                median = weighting.estimate_quantile(y, design, p=0.5, alpha=alpha)
            else:  # a single respondent: no variance, the answer is the estimate
                mean = median = SimpleNamespace(estimate=float(y[0]), ci_low=None, ci_high=None)
            row["mean"] = {
                "estimate": mean.estimate,
                "ci_low": _finite(mean.ci_low) if several else None,
                "ci_high": _finite(mean.ci_high) if several else None,
            }
            row["median"] = {
                "estimate": median.estimate,
                "ci_low": _finite(median.ci_low) if several else None,
                "ci_high": _finite(median.ci_high) if several else None,
            }
            row["min"] = float(np.nanmin(y))
            row["max"] = float(np.nanmax(y))
        out.append(row)
    return out


def survey_results(*, survey: Survey, alpha: float = 0.05) -> dict[str, Any]:
    """The dashboard's results: how the respondents are weighted (or why they are not),
    each choice question's distribution and each number question's summary."""
    frame = respondents_frame(survey=survey)
    if frame.empty:
        return {
            "respondents": 0,
            "estimation": None,
            "empty_categories": [],
            "distributions": [_empty(q) for q in choice_questions(survey)],
            "numbers": [],
        }
    est = estimation(survey=survey, frame=frame)
    design = est.design
    # The questions and their answers are read once for the distributions and the numbers.
    choices, numbers = _result_questions(survey)
    answers = _answers(survey, frame, choices + numbers)
    return {
        "respondents": len(frame),
        "estimation": est,
        "kish_deff": weighting.kish_design_effect(design.weights),
        "empty_categories": empty_categories(survey=survey, frame=frame) if est.error else [],
        "distributions": _distributions(
            survey=survey,
            frame=frame,
            design=design,
            alpha=alpha,
            questions=choices,
            answer_rows=answers,
        ),
        "numbers": _number_summaries(
            frame=frame, design=design, alpha=alpha, questions=numbers, answers=answers
        ),
    }


def _empty(question: Question) -> dict:
    return _distribution(question, n=0, options=[])


def _distribution(question: Question, *, n: int, options: list[dict]) -> dict:
    """One question's published distribution: the question, how many answered, and its
    options' estimates."""
    return {
        "item": question.key,
        "code": question.code,
        "question": question.text_en,
        "question_ko": question.text_ko,
        "kind": question.kind,
        "subject": question.subject,
        "answer_key": question.answer_key,
        "n": n,
        "options": options,
    }


def _finite(value) -> float | None:
    value = float(value)
    return value if np.isfinite(value) else None


def _row(option, est) -> dict:
    """One option's estimate. A standard error or interval that cannot be estimated (a
    single respondent: no degrees of freedom) is ``None``, never NaN or a silent zero."""
    return {
        "code": option.code,
        "text": option.text_en,
        "text_ko": option.text_ko,
        "estimate": float(est["estimate"]),
        "se": _finite(est["se"]),
        "ci_low": _finite(est["ci_low"]),
        "ci_high": _finite(est["ci_high"]),
    }


def _estimate(values, design, categories, alpha) -> pd.DataFrame:
    """``estimate_proportions``, or the weighted shares alone when the design has too few
    respondents for a variance (fewer than two)."""
    if design.n >= 2:
        return weighting.estimate_proportions(values, design, categories=categories, alpha=alpha)
    w = design.weights
    shares = []
    answered = sum(w[i] for i, v in enumerate(values) if v is not None)
    for c in categories:
        chosen = sum(w[i] for i, v in enumerate(values) if v == c)
        shares.append(chosen / answered if answered else np.nan)
    nan = [np.nan] * len(categories)
    return pd.DataFrame({"estimate": shares, "se": nan, "ci_low": nan, "ci_high": nan})


# --- dashboard ------------------------------------------------------------------------------


def survey_representativeness(*, survey: Survey) -> list[dict]:
    """Per stratification variable: population, achieved and (once weighted) weighted shares
    of the respondents, with the chi-square goodness-of-fit test of the achieved sample
    (:func:`surveys.representativeness.compare_shares`)."""
    design = survey.design
    if design is None:
        return []
    frame = respondents_frame(survey=survey)
    if frame.empty:
        return []
    population = design.population
    # By id, not the model's ordering (population name first): that would join the population
    # again, and it is the same order within one population.
    cells = list(population.cells.order_by("id"))
    weighted = frame["weight"].notna().all()
    out = []
    for v in population.variables:
        totals: dict[Hashable, float] = {}
        for c in cells:
            totals[c.values[v]] = totals.get(c.values[v], 0) + c.count
        achieved = representativeness.compare_shares(frame[v], totals, name=v)
        after = (
            representativeness.compare_shares(
                frame[v], totals, weights=frame["weight"].to_numpy(dtype=float), name=v
            )
            .table["achieved_share"]
            .to_dict()
            if weighted
            else None
        )
        rows = [
            {
                "category": category,
                "population": 100 * float(row["population_share"]),
                "achieved": 100 * float(row["achieved_share"]),
                "weighted": 100 * float(after[category]) if after is not None else None,
            }
            for category, row in achieved.table.iterrows()
        ]
        out.append(
            {
                "variable": v,
                "chi2": achieved.chi2,
                "df": achieved.df,
                "p_value": achieved.p_value,
                "rows": rows,
            }
        )
    return out


def quota_fill(*, survey: Survey) -> list[QuotaCell]:
    if survey.design_id is None:
        return []
    return list(
        QuotaCell.objects.filter(design_id=survey.design_id)
        .select_related("cell")
        .order_by("cell_id")
    )


def quotas_editable(*, survey: Survey) -> bool:
    """Quotas may change while no sample is drawn and every survey of the design is a draft
    (a change would otherwise move the targets of fieldwork already under way)."""
    if survey.design_id is None or survey.status != SurveyStatus.DRAFT:
        return False
    design = survey.design
    return not (
        Draw.objects.filter(design=design).exists()
        or Survey.objects.filter(design=design).exclude(status=SurveyStatus.DRAFT).exists()
    )


def population_cells(*, population: Population):
    """The population's cells in order, each with its census count and the panel people in
    it (all panels of the population)."""
    return population.cells.annotate(panel_people=Count("panelists")).order_by("id")


def panel_members(*, panel: Panel, search: str = ""):
    """The panel's people (external id, attributes, cell), newest import order; ``search``
    matches the external id or the cell. Contact details are not read."""
    rows = Panelist.objects.filter(panel=panel).select_related("cell").order_by("id")
    if search:
        rows = rows.filter(Q(external_id__icontains=search) | Q(cell__key__icontains=search))
    return rows


def response_rates(*, survey: Survey) -> list[dict]:
    """Invited and completed per cell, for invitation samples."""
    rows = (
        Invitation.objects.filter(survey=survey)
        .values("panelist__cell__key")
        .annotate(
            invited=Count("id"),
            completed=Count("id", filter=Q(response__status=ResponseStatus.COMPLETED)),
        )
        .order_by("panelist__cell__key")
    )
    return [
        {
            "cell": r["panelist__cell__key"],
            "invited": r["invited"],
            "completed": r["completed"],
            "rate": r["completed"] / r["invited"] if r["invited"] else 0.0,
        }
        for r in rows
    ]


def survey_counts(*, survey: Survey) -> dict[str, Any]:
    """The dashboard's counts, read in two queries whatever the section: responses by status
    (with the flagged and weighted ones, and the completed ones per day for ``over_time``)
    and invitations by status (``invitations_by_status``, which :func:`fieldwork` shows)."""
    by_status: dict[str, int] = {}
    flagged = weighted = 0
    per_day: dict[Any, int] = {}
    rows = (
        Response.objects.filter(survey=survey)
        .annotate(day=TruncDate("completed_at"))
        .values("status", "day")
        .annotate(
            n=Count("id"),
            flagged=Count("id", filter=Q(flagged_attention=True)),
            weighted=Count("weight"),
        )
        .order_by()
    )
    for row in rows:
        by_status[row["status"]] = by_status.get(row["status"], 0) + row["n"]
        flagged += row["flagged"]
        weighted += row["weighted"]
        if row["status"] == ResponseStatus.COMPLETED and row["day"] is not None:
            per_day[row["day"]] = per_day.get(row["day"], 0) + row["n"]
    invitations = dict(
        Invitation.objects.filter(survey=survey)
        .values_list("status")
        .annotate(n=Count("id"))
        .order_by()
    )
    return {
        "started": by_status.get(ResponseStatus.STARTED, 0),
        "completed": by_status.get(ResponseStatus.COMPLETED, 0),
        "screened_out": by_status.get(ResponseStatus.SCREENED_OUT, 0),
        "flagged": flagged,
        "invited": sum(invitations.values()),
        "weighted": weighted,
        # Completed responses per day (``day``, ``n``), as dicts the caller may add keys to.
        "over_time": [{"day": day, "n": n} for day, n in sorted(per_day.items())],
        "invitations_by_status": invitations,
    }


def fieldwork(*, survey: Survey, invitations_by_status: dict[str, int]) -> dict[str, Any]:
    """What the dashboard's fieldwork section shows: the draws, and invitations by status
    (``survey_counts(...)["invitations_by_status"]``, so they are counted once)."""
    by_status = invitations_by_status
    draws = list(Draw.objects.filter(survey=survey).order_by("created_at", "id"))
    return {
        "has_panel": survey.design is not None and survey.design.panel_id is not None,
        "drawn": any(d.kind == DrawKind.INITIAL for d in draws),
        "draws": draws,
        "by_status": [
            (label, by_status.get(value, 0)) for value, label in InvitationStatus.choices
        ],
        "pending": by_status.get(InvitationStatus.PENDING, 0),
        "waiting": by_status.get(InvitationStatus.SENT, 0),
    }


def review_queue(*, survey: Survey):
    return (
        survey.questions.filter(review_state=ReviewState.IN_REVIEW)
        .prefetch_related("reviews__reviewer", "options")
        .order_by("block__order", "order")
    )


def questionnaire(*, survey: Survey) -> list[tuple[Block, list[Question]]]:
    """The survey's blocks in order, each with its questions (options, reviews and their
    reviewers prefetched: the page reads the same however many questions there are)."""
    questions = (
        Question.objects.filter(survey=survey)
        .order_by("order", "id")
        .prefetch_related(
            "options", Prefetch("reviews", QuestionReview.objects.select_related("reviewer"))
        )
    )
    by_block: dict[int, list[Question]] = {}
    for question in questions:
        by_block.setdefault(question.block_id, []).append(question)
    blocks = Block.objects.filter(survey=survey).order_by("order", "id")
    return [(block, by_block.get(block.pk, [])) for block in blocks]


def study_setup(*, study) -> dict[str, Any]:
    """What the study's setup page lists: populations (cells, people), panels (people),
    sample designs and surveys."""
    return {
        "populations": Population.objects.filter(study=study).annotate(
            n_cells=Count("cells"), people=Sum("cells__count")
        ),
        "panels": Panel.objects.filter(study=study)
        .select_related("population")
        .annotate(people=Count("panelists")),
        "designs": SampleDesign.objects.filter(study=study).select_related("population", "panel"),
        "surveys": Survey.objects.filter(study=study).select_related("design").order_by("id"),
    }


def design_preview_rows(
    *, population: Population, panel: Panel | None, quotas: dict[str, int]
) -> list[dict[str, Any]]:
    """Per cell of the population: census count, panel people available and the quota."""
    available: dict[str, int] = {}
    if panel is not None:
        available = dict(
            Panelist.objects.filter(panel=panel, cell__isnull=False)
            .values_list("cell__key")
            .annotate(n=Count("id"))
        )
    return [
        {
            "key": cell.key,
            "count": cell.count,
            "available": available.get(cell.key, 0),
            "quota": quotas.get(cell.key, 0),
        }
        for cell in population.cells.order_by("id")
    ]


# What a researcher calls each stage of an invitation (the invitee table, its CSV, its filter).
INVITEE_STAGES = {
    "drawn": _("drawn"),
    "invited": _("invited"),
    "reminded": _("reminded"),
    "started": _("started"),
    "finished": _("finished"),
    "screened_out": _("screened out"),
    "refused": _("refused"),
}


def invitee_stage(invitation: Invitation) -> str:
    """drawn (no message yet), invited, reminded, started, finished, screened out, refused."""
    if invitation.status == InvitationStatus.PENDING:
        return "drawn"
    if invitation.status == InvitationStatus.SENT:
        return "reminded" if invitation.reminders else "invited"
    if invitation.status == InvitationStatus.COMPLETED:
        return "finished"
    return str(invitation.status)


def _stage_filter(stage: str) -> Q:
    return {
        "drawn": Q(status=InvitationStatus.PENDING),
        "invited": Q(status=InvitationStatus.SENT, reminders=0),
        "reminded": Q(status=InvitationStatus.SENT, reminders__gt=0),
        "started": Q(status=InvitationStatus.STARTED),
        "finished": Q(status=InvitationStatus.COMPLETED),
        "screened_out": Q(status=InvitationStatus.SCREENED_OUT),
        "refused": Q(status=InvitationStatus.REFUSED),
    }.get(stage, Q())


def invitees(*, survey: Survey, stage: str = "", contacts: bool = False):
    """The survey's invitations in draw order, with their panelist (and contact details when
    ``contacts``: the caller checked the owner's rights), narrowed to one stage if named."""
    qs = (
        Invitation.objects.filter(survey=survey)
        .filter(_stage_filter(stage))
        .select_related("panelist", "panelist__cell", "draw")
        .order_by("id")
    )
    if contacts:
        qs = qs.select_related("panelist__contact")
    return qs


def invitee_stage_counts(*, survey: Survey) -> list[tuple[str, str, int]]:
    """(stage, its name, how many) for every stage, in the order of fieldwork."""
    rows = (
        Invitation.objects.filter(survey=survey)
        .values_list("status", "reminders")
        .annotate(n=Count("id"))
    )
    counts: dict[str, int] = dict.fromkeys(INVITEE_STAGES, 0)
    for status, reminders, n in rows:
        counts[invitee_stage(Invitation(status=status, reminders=reminders))] += n
    return [(stage, str(name), counts[stage]) for stage, name in INVITEE_STAGES.items()]
