"""Sample designs (size and allocation), seeded draws and replacement draws.

The arithmetic lives in :mod:`surveys.sampling`; these functions feed it the population's
cells and the panel's people and store what it returns.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any, cast

import pandas as pd
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count
from django.utils.translation import gettext as _

from accounts.models import Study
from config.inputs import INT_MAX, SEED_MAX
from surveys import sampling
from surveys.models import (
    Allocation,
    Draw,
    DrawKind,
    Invitation,
    InvitationStatus,
    Panel,
    Panelist,
    Population,
    QuotaCell,
    SampleDesign,
    Survey,
    SurveyStatus,
)

# The defaults of a sample size from a margin of error, shared by the API and the setup page.
SIZE_DEFAULTS = {"confidence": 0.95, "p": 0.5, "deff": 1.0, "response_rate": 1.0}
# Sensible ranges of Cochran's inputs (the forms and the API use the same): a margin below
# 0.1 point or a design effect above 100 would ask for more people than any panel holds.
SIZE_BOUNDS = {
    "margin": (0.001, 0.5),
    "confidence": (0.5, 0.9999),
    "p": (0.0001, 0.9999),
    "deff": (0.01, 100.0),
    "response_rate": (0.001, 1.0),
}
# A sample size is stored as a whole number column (target_n, quota targets).
N_MAX = INT_MAX


def _check_seed(seed: int) -> None:
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= SEED_MAX:
        raise ValidationError(
            {"seed": [_("A whole number from 0 to %(max)s.") % {"max": f"{SEED_MAX:,}"}]}
        )


def design_sample_size(
    *,
    population: Population,
    margin: float,
    confidence: float = SIZE_DEFAULTS["confidence"],
    p: float = SIZE_DEFAULTS["p"],
    deff: float = SIZE_DEFAULTS["deff"],
    response_rate: float = SIZE_DEFAULTS["response_rate"],
    fpc: bool = True,
) -> int:
    """Sample size for a margin of error (Cochran; see :func:`surveys.sampling.sample_size`),
    with the finite population correction for the population's total when ``fpc``.

    Each input must lie in its ``SIZE_BOUNDS`` range, and the size must fit ``N_MAX``."""
    given = {"margin": margin, "confidence": confidence, "p": p, "deff": deff}
    given["response_rate"] = response_rate
    for name, value in given.items():
        low, high = SIZE_BOUNDS[name]
        if not low <= value <= high:  # also refuses NaN
            raise ValidationError(
                {
                    name: [
                        _("Between %(low)s and %(high)s.")
                        % {"low": f"{low:g}", "high": f"{high:g}"}
                    ]
                }
            )
    total = sum(c.count for c in population.cells.all())
    try:
        n = sampling.sample_size(
            margin,
            confidence=confidence,
            p=p,
            population=total if fpc and total > 0 else None,
            deff=deff,
            response_rate=response_rate,
        )
    except ValueError as exc:
        raise ValidationError({"non_field_errors": [str(exc)]}) from None
    if n > N_MAX:
        raise ValidationError(
            {
                "margin": [
                    _("These inputs ask for %(n)s people; at most %(max)s.")
                    % {"n": f"{n:,}", "max": f"{N_MAX:,}"}
                ]
            }
        )
    return n


def _capacity(population: Population, panel: Panel | None) -> dict[Hashable, int] | None:
    if panel is None:
        return None
    counts = dict(
        Panelist.objects.filter(panel=panel, cell__isnull=False)
        .values_list("cell__key")
        .annotate(n=Count("id"))
    )
    return {c.key: int(counts.get(c.key, 0)) for c in population.cells.all()}


def design_preview(
    *,
    population: Population,
    n: int,
    allocation: str = Allocation.PROPORTIONAL,
    parameters: dict[str, Any] | None = None,
    panel: Panel | None = None,
) -> dict[str, int]:
    """Quotas per cell key that sum exactly to ``n``, capped by the panel's people in each
    cell when a panel is given (else by the census count). Nothing is stored."""
    parameters = parameters or {}
    cells = list(population.cells.all())
    counts: dict[Hashable, int] = {c.key: c.count for c in cells}
    # The kernel refuses any other name (a ValueError, reported below as a ValidationError).
    method = cast(sampling.AllocationMethod, allocation)
    minimum = 0
    sd = None
    if allocation == Allocation.MINIMUM:
        method = "proportional"
        minimum = parameters.get("minimum", 1)
        if isinstance(minimum, str) and minimum.strip().isdigit():
            minimum = int(minimum)
        if isinstance(minimum, bool) or not isinstance(minimum, int) or not 0 <= minimum <= N_MAX:
            raise ValidationError(
                {
                    "parameters": [
                        _("minimum: a whole number from 0 to %(max)s.") % {"max": f"{N_MAX:,}"}
                    ]
                }
            )
    elif allocation == Allocation.NEYMAN:
        sd = parameters.get("sd")
        if not isinstance(sd, dict):
            raise ValidationError({"parameters": [_("Neyman allocation needs sd: {cell: value}.")]})
    try:
        return {
            str(k): int(v)
            for k, v in sampling.allocate(
                counts,
                n,
                method=method,
                sd=sd,
                minimum=minimum,
                capacity=_capacity(population, panel),
            ).items()
        }
    except ValueError as exc:
        raise ValidationError({"non_field_errors": [str(exc)]}) from None


@transaction.atomic
def design_create(
    *,
    study: Study,
    population: Population,
    name: str,
    n: int | None = None,
    size_parameters: dict[str, Any] | None = None,
    allocation: str = Allocation.PROPORTIONAL,
    parameters: dict[str, Any] | None = None,
    panel: Panel | None = None,
) -> SampleDesign:
    """Store a design and its quota per cell. Give ``n``, or ``size_parameters`` (margin,
    confidence, p, deff, response_rate, fpc) to compute it."""
    if population.study_id != study.pk or (panel is not None and panel.study_id != study.pk):
        raise ValidationError(
            {"population": [_("The population and panel must be in this study.")]}
        )
    if panel is not None and panel.population_id != population.pk:
        raise ValidationError({"panel": [_("The panel is drawn from another population.")]})
    size_parameters = size_parameters or {}
    if n is None:
        if "margin" not in size_parameters:
            raise ValidationError({"n": [_("Give n, or a margin of error to compute it.")]})
        n = design_sample_size(population=population, **size_parameters)
    if not 1 <= n <= N_MAX:
        raise ValidationError(
            {"n": [_("A whole number from 1 to %(max)s.") % {"max": f"{N_MAX:,}"}]}
        )
    quotas = design_preview(
        population=population, n=n, allocation=allocation, parameters=parameters, panel=panel
    )
    design = SampleDesign.objects.create(
        study=study,
        population=population,
        panel=panel,
        name=name,
        target_n=n,
        size_parameters=size_parameters,
        allocation=allocation,
        parameters=parameters or {},
    )
    cells = {c.key: c for c in population.cells.all()}
    QuotaCell.objects.bulk_create(
        [QuotaCell(design=design, cell=cells[k], target=q) for k, q in quotas.items()]
    )
    return design


def _frame(panel: Panel) -> pd.DataFrame:
    rows = Panelist.objects.filter(panel=panel, cell__isnull=False).values_list(
        "id", "external_id", "cell__key"
    )
    return pd.DataFrame(list(rows), columns=["id", "external_id", "stratum"])


def _invite(*, survey: Survey, draw: Draw, ids: list[int]) -> int:
    Invitation.objects.bulk_create(
        [Invitation(draw=draw, survey=survey, panelist_id=i) for i in ids], batch_size=2000
    )
    draw.size = len(ids)
    draw.save(update_fields=["size"])
    return len(ids)


def _check_survey(survey: Survey) -> tuple[SampleDesign, Panel]:
    """The survey's design and the panel it draws from."""
    design = survey.design
    panel = design.panel if design is not None else None
    if design is None or panel is None:
        raise ValidationError({"survey": [_("The survey needs a sample design with a panel.")]})
    return design, panel


@transaction.atomic
def sample_draw(*, survey: Survey, seed: int) -> Draw:
    """Draw each cell's quota from the panel, without replacement, and invite them.

    The same seed and panel give the same people (the frame is ordered by external id). A
    survey is drawn once; later additions are replacement draws.
    """
    _check_seed(seed)
    design, panel = _check_survey(survey)
    Survey.objects.select_for_update().get(pk=survey.pk)
    if survey.draws.filter(kind=DrawKind.INITIAL).exists():
        raise ValidationError({"survey": [_("This survey's sample is already drawn.")]})
    quotas: dict[Hashable, int] = {
        q.cell.key: q.target for q in design.quotas.select_related("cell")
    }
    frame = _frame(panel)
    try:
        picked = sampling.draw(frame, quotas, seed=seed, id_col="external_id")
    except ValueError as exc:
        raise ValidationError({"non_field_errors": [str(exc)]}) from None
    draw = Draw.objects.create(survey=survey, design=design, seed=seed, kind=DrawKind.INITIAL)
    _invite(survey=survey, draw=draw, ids=[int(i) for i in picked["id"]])
    return draw


NON_RESPONSE = (InvitationStatus.PENDING, InvitationStatus.SENT)


@transaction.atomic
def sample_replace(*, survey: Survey, seed: int, cells: list[str] | None = None) -> Draw:
    """Draw one replacement, from the same cell, for each invitee who has not responded
    (optionally only in ``cells``). No one is invited twice."""
    _check_seed(seed)
    design, panel = _check_survey(survey)
    Survey.objects.select_for_update().get(pk=survey.pk)
    missing = (
        Invitation.objects.filter(survey=survey, status__in=NON_RESPONSE)
        .values_list("panelist__cell__key")
        .annotate(n=Count("id"))
    )
    counts = {k: n for k, n in missing if cells is None or k in cells}
    frame = _frame(panel)
    taken = list(
        Invitation.objects.filter(survey=survey).values_list("panelist__external_id", flat=True)
    )
    left = frame.loc[~frame["external_id"].isin(taken)].groupby("stratum").size().to_dict()
    counts = {k: min(n, int(left.get(k, 0))) for k, n in counts.items()}
    counts = {k: n for k, n in counts.items() if n > 0}
    if not counts:
        raise ValidationError({"survey": [_("There is no one to replace, or no one left to ask.")]})
    picked = sampling.draw_replacements(frame, taken, counts, seed=seed, id_col="external_id")
    draw = Draw.objects.create(survey=survey, design=design, seed=seed, kind=DrawKind.REPLACEMENT)
    _invite(survey=survey, draw=draw, ids=[int(i) for i in picked["id"]])
    return draw


@transaction.atomic
def quota_targets_update(*, survey: Survey, targets: dict[int, int]) -> SampleDesign:
    """Change the targets of some quota cells of the survey's design (``{quota id: target}``)
    and the design's sample size with them. Only before any draw, while every survey of the
    design is a draft (the design row is locked, so a draw cannot start meanwhile)."""
    if survey.design_id is None:
        raise ValidationError({"quotas": [_("This survey has no sample design.")]})
    design = SampleDesign.objects.select_for_update().get(pk=survey.design_id)
    if (
        Draw.objects.filter(design=design).exists()
        or Survey.objects.filter(design=design).exclude(status=SurveyStatus.DRAFT).exists()
    ):
        raise ValidationError(
            {"quotas": [_("Quotas can change only before the sample is drawn, in a draft survey.")]}
        )
    quotas = {q.pk: q for q in QuotaCell.objects.filter(design=design, pk__in=list(targets))}
    unknown = sorted(set(targets) - set(quotas))
    if unknown:
        raise ValidationError({"quotas": [_("These quota cells are not this survey's.")]})
    for pk, target in targets.items():
        if isinstance(target, bool) or not isinstance(target, int) or not 0 <= target <= N_MAX:
            raise ValidationError(
                {"quotas": [_("A target is a whole number from 0 to %(max)s.") % {"max": N_MAX}]}
            )
        quotas[pk].target = target
    QuotaCell.objects.bulk_update(list(quotas.values()), ["target"])
    total = sum(QuotaCell.objects.filter(design=design).values_list("target", flat=True))
    if total > N_MAX:
        raise ValidationError(
            {"quotas": [_("The targets add up to more than %(max)s.") % {"max": N_MAX}]}
        )
    design.target_n = total
    design.save(update_fields=["target_n"])
    return design
