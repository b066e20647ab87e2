"""The surveys app as a source of votes and items (see :mod:`sources`).

Votes are the respondents' answers to the choice questions, weighted by their final weights
(:func:`surveys.selectors.survey_vote_table`); items are those questions, in every language of
the survey, with their ordered options, answer key and weighted answer distribution
(:func:`surveys.selectors.survey_ground_truth`). Registered in
:meth:`surveys.apps.SurveysConfig.ready`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import IO, Any

import pandas as pd
from django.db.models import Count, Q

from sources import schema
from sources.registry import SourceRef, SourceUnavailable
from surveys import selectors
from surveys.models import Question, Response, ResponseStatus, Survey, Weight

# The languages a question has wording fields for (``text_<lang>``).
TEXT_LANGUAGES = ("ko", "en")

WEIGHT_METHODS = {
    "poststratify": "post-stratified to the population's census counts per cell",
    "rake": "raked to the population's margins of each stratification variable",
    "none": "all 1 (no population to calibrate to)",
}


def _wanted_keys(survey: Survey, questions: Iterable[Any] | None) -> set[str] | None:
    """The item keys a question filter names: codes ("trust") or keys ("12:trust")."""
    if not questions:
        return None
    codes = {str(q) for q in questions}
    return codes | {f"{survey.pk}:{q}" for q in codes}


def _blank_to_none(value: str) -> str | None:
    return value or None


def _join(words: list[str]) -> str:
    if len(words) <= 1:
        return "".join(words)
    return f"{', '.join(words[:-1])} and {words[-1]}"


class SurveySource:
    kind = "survey"

    def _survey(self, ref: SourceRef) -> Survey:
        survey = (
            Survey.objects.filter(pk=ref.object_id, study_id=ref.study_id)
            .select_related("design__population", "design__panel")
            .first()
            if ref.object_id is not None
            else None
        )
        if survey is None:
            raise SourceUnavailable("No such survey in this study.")
        return survey

    def choices(self, *, study_id: int) -> list[tuple[int, str]]:
        return self.choices_by_study(study_ids=[study_id]).get(study_id, [])

    def choices_by_study(self, *, study_ids: list[int]) -> dict[int, list[tuple[int, str]]]:
        rows = (
            Survey.objects.filter(study_id__in=study_ids)
            .order_by("id")
            .values_list("study_id", "pk", "title_en")
        )
        out: dict[int, list[tuple[int, str]]] = {}
        for study_id, pk, title in rows:
            out.setdefault(study_id, []).append((pk, str(title)))
        return out

    def check(self, *, ref: SourceRef) -> None:
        self._survey(ref)

    def vote_table(self, *, ref: SourceRef) -> pd.DataFrame:
        survey = self._survey(ref)
        df = selectors.survey_vote_table(survey=survey)
        wanted = _wanted_keys(survey, ref.options.get("questions"))
        if wanted is not None:
            df = df[df["item"].astype("string").isin(sorted(wanted))]
        return schema.vote_frame(df)

    def item_table(self, *, ref: SourceRef) -> pd.DataFrame:
        """One row per choice question the vote table can hold (the same question filter)."""
        survey = self._survey(ref)
        wanted = _wanted_keys(survey, ref.options.get("questions"))
        questions = [
            q for q in selectors.choice_questions(survey) if wanted is None or q.key in wanted
        ]
        truth = {t["item"]: t for t in selectors.survey_ground_truth(survey=survey)}
        first = survey.languages[0] if survey.languages else "en"
        languages = [lang for lang in survey.languages if lang in TEXT_LANGUAGES]
        if "en" not in languages:
            languages.append("en")
        rows = [self._question_row(q, truth.get(q.key), first, languages) for q in questions]
        columns = ["item", "kind", "question", "options", "answer_key", "subject"]
        columns += ["distribution", "distribution_low", "distribution_high", "n"]
        columns += [f"question_{lang}" for lang in languages]
        columns += [f"option_texts_{lang}" for lang in languages]
        columns += ["question_kind", "block"]
        return schema.item_frame(pd.DataFrame(rows, columns=columns))

    @staticmethod
    def _question_row(
        question: Question, truth: dict[str, Any] | None, first: str, languages: list[str]
    ) -> dict[str, Any]:
        options = list(question.options.all())
        codes = [o.code for o in options]
        row: dict[str, Any] = {
            "item": question.key,
            "kind": "question",
            "question": question.text(first),
            "options": codes,
            "answer_key": _blank_to_none(question.answer_key),
            "subject": _blank_to_none(question.subject),
            "distribution": None,
            "distribution_low": None,
            "distribution_high": None,
            "n": truth["n"] if truth else 0,
            "question_kind": question.kind,
            "block": question.block.title_en or None,
        }
        estimates = {o["code"]: o for o in truth["options"]} if truth else {}
        if estimates:
            # Aligned with ``options`` by code, whatever order the estimates come in.
            for column, field in (
                ("distribution", "estimate"),
                ("distribution_low", "ci_low"),
                ("distribution_high", "ci_high"),
            ):
                row[column] = [estimates[c][field] if c in estimates else None for c in codes]
        for lang in languages:
            row[f"question_{lang}"] = _blank_to_none(getattr(question, f"text_{lang}"))
            texts = [getattr(o, f"text_{lang}") for o in options]
            row[f"option_texts_{lang}"] = texts if any(texts) else None
        return row

    def open_media(self, *, ref: SourceRef, name: str) -> IO[bytes]:
        raise SourceUnavailable("survey: survey questions have no media files")

    def describe(self, *, ref: SourceRef) -> dict[str, Any]:
        survey = self._survey(ref)
        return {
            "kind": self.kind,
            "name": survey.title_en,
            "languages": list(survey.languages),
            "design": f"{self._sample(survey)} {self._responses(survey)}",
        }

    @staticmethod
    def _sample(survey: Survey) -> str:
        design = survey.design
        if design is None:
            return (
                "A survey without a sample design: its respondents are not a probability "
                "sample of a population."
            )
        population = design.population
        variables = _join([str(v) for v in population.variables])
        stratified = f", stratified by {variables}" if variables else ""
        return (
            f"A survey of a stratified sample (design “{design.name}”: "
            f"{design.get_allocation_display().lower()} allocation of {design.target_n:,} "
            f"respondents over the population “{population.name}”{stratified})."
        )

    @staticmethod
    def _responses(survey: Survey) -> str:
        counts = Response.objects.filter(survey=survey, status=ResponseStatus.COMPLETED).aggregate(
            completed=Count("id"),
            invited=Count("id", filter=Q(invitation__isnull=False)),
            flagged=Count("id", filter=Q(flagged_attention=True)),
        )
        completed, invited, flagged = counts["completed"], counts["invited"], counts["flagged"]
        notes = []
        if invited:
            panel = survey.design.panel if survey.design is not None else None
            where = f" from the panel “{panel.name}”" if panel is not None else ""
            notes.append(f"{invited:,} invited{where}")
        if completed - invited:
            screened = ", screened into quota cells" if survey.design is not None else ""
            notes.append(f"{completed - invited:,} through the open link{screened}")
        if flagged:
            notes.append(f"{flagged:,} left out for failing an attention check")
        text = f"{completed:,} completed response{'' if completed == 1 else 's'}"
        if notes:
            text += f" ({'; '.join(notes)})"
        methods = list(
            Weight.objects.filter(response__survey=survey)
            .values_list("method")
            .annotate(n=Count("id"))
            .order_by("-n", "method")
        )
        if not methods:
            return f"{text}; no weights were computed, so every respondent weighs 1."
        method = methods[0][0]
        n_weighted = sum(n for _, n in methods)
        respondents = completed - flagged
        text += f"; weights {WEIGHT_METHODS.get(method, f'computed by {method}')}"
        if n_weighted < respondents:
            text += f" for {n_weighted:,} of the {respondents:,} respondents (the others weigh 1)"
        return f"{text}."
