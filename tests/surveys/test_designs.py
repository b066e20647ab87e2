"""Sample designs, seeded draws and replacement draws."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from surveys.models import Invitation, InvitationStatus, QuotaCell
from surveys.services import (
    design_create,
    design_preview,
    design_sample_size,
    sample_draw,
    sample_replace,
)
from tests.surveys.factories import make_survey

pytestmark = pytest.mark.django_db


def test_preview_is_proportional_and_sums_to_n(population):
    # Census 600/400/300/200 of 1,500: 20 people give 8, 5.33, 4, 2.67 -> largest remainder.
    assert design_preview(population=population, n=20) == {
        "Seoul|F": 8,
        "Seoul|M": 5,
        "Busan|F": 4,
        "Busan|M": 3,
    }


def test_preview_is_capped_by_the_panel(population, panel):
    # 10 panelists per cell: Seoul|F would get 16 of 40, is capped at 10, the rest re-shared.
    quotas = design_preview(population=population, n=40, panel=panel)
    assert quotas == {"Seoul|F": 10, "Seoul|M": 10, "Busan|F": 10, "Busan|M": 10}
    quotas = design_preview(population=population, n=30, panel=panel)
    assert sum(quotas.values()) == 30
    # The other 20 go 400:300:200 -> 8.89, 6.67, 4.44 -> 9, 7, 4.
    assert quotas == {"Seoul|F": 10, "Seoul|M": 9, "Busan|F": 7, "Busan|M": 4}


def test_minimum_then_proportional(population):
    quotas = design_preview(
        population=population, n=10, allocation="minimum", parameters={"minimum": 2}
    )
    assert quotas == {"Seoul|F": 3, "Seoul|M": 3, "Busan|F": 2, "Busan|M": 2}


def test_sample_size_from_margin_with_fpc(population):
    # Cochran: n0 = 1.96^2 * .25 / .05^2 = 384.15; with N = 1,500: 384.15/(1+383.15/1500) = 306.
    assert design_sample_size(population=population, margin=0.05) == 306
    assert design_sample_size(population=population, margin=0.05, fpc=False) == 385


def test_design_from_margin_stores_quotas(study, population):
    design = design_create(
        study=study, population=population, name="M", size_parameters={"margin": 0.1, "fpc": False}
    )
    assert design.target_n == 97
    assert sum(QuotaCell.objects.filter(design=design).values_list("target", flat=True)) == 97


def test_same_seed_same_sample(study, design, colleague):
    one = make_survey(study, design, reviewer=colleague)
    two = make_survey(study, design, approve=False)
    draw_one = sample_draw(survey=one, seed=42)
    draw_two = sample_draw(survey=two, seed=42)
    picked_one = sorted(draw_one.invitations.values_list("panelist__external_id", flat=True))
    picked_two = sorted(draw_two.invitations.values_list("panelist__external_id", flat=True))
    assert picked_one == picked_two
    assert len(picked_one) == 20
    per_cell = {}
    for key in draw_one.invitations.values_list("panelist__cell__key", flat=True):
        per_cell[key] = per_cell.get(key, 0) + 1
    assert per_cell == {"Seoul|F": 8, "Seoul|M": 5, "Busan|F": 4, "Busan|M": 3}
    tokens = list(Invitation.objects.values_list("token", flat=True))
    assert len(set(tokens)) == 40
    assert all(len(t) == 32 for t in tokens)  # 24 random bytes = 192 bits
    with pytest.raises(ValidationError):
        sample_draw(survey=one, seed=1)


def test_replacements_come_from_the_same_cell(survey):
    draw = sample_draw(survey=survey, seed=7)
    # Everyone in Busan|M responded except one; replace only that cell.
    busan_m = list(draw.invitations.filter(panelist__cell__key="Busan|M"))
    Invitation.objects.filter(pk__in=[i.pk for i in busan_m[1:]]).update(
        status=InvitationStatus.COMPLETED
    )
    extra = sample_replace(survey=survey, seed=8, cells=["Busan|M"])
    new = list(extra.invitations.values_list("panelist__cell__key", "panelist__external_id"))
    assert len(new) == 1
    assert new[0][0] == "Busan|M"
    assert new[0][1] not in {i.panelist.external_id for i in busan_m}
    assert Invitation.objects.filter(survey=survey).count() == 21
