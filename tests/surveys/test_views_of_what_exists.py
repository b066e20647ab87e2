"""Pages that show what a study has: a population's cells and counts, a panel's members
(paged, searchable, no contact details) and a draft survey's quotas, editable until the
sample is drawn."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from surveys.models import QuotaCell, SampleDesign
from surveys.services import sample_draw
from tests.conftest import post_refused
from tests.surveys import factories

pytestmark = pytest.mark.django_db


def flashes(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.fixture
def draft(study, design):
    return factories.make_survey(study, design, approve=False)


def test_population_page_lists_cells_with_counts_and_panel_people(
    client, researcher, outsider, population, panel
):
    client.force_login(researcher)
    page = client.get(reverse("surveys:population", args=[population.pk]))
    assert page.status_code == 200
    rows = [(c.key, c.count, c.panel_people) for c in page.context["cells"]]
    assert rows == [
        ("Seoul|F", 600, 10),
        ("Seoul|M", 400, 10),
        ("Busan|F", 300, 10),
        ("Busan|M", 200, 10),
    ]
    assert page.context["total"] == 1500
    assert "4 cells over region, gender; 1,500 people in all." in page.text
    client.force_login(outsider)
    assert client.get(reverse("surveys:population", args=[population.pk])).status_code == 404


def test_panel_page_is_paged_and_searchable_without_contacts(
    client, researcher, outsider, panel, django_assert_max_num_queries
):
    client.force_login(researcher)
    url = reverse("surveys:panel", args=[panel.pk])
    with django_assert_max_num_queries(12):
        page = client.get(url)
    members = page.context["members"]
    assert (members.paginator.count, len(members.object_list)) == (40, 25)
    assert "Page 1 of 2 (40 rows)" in page.text
    assert "@" not in page.text  # no email addresses
    second = client.get(url, {"page": 2})
    assert len(second.context["members"].object_list) == 15
    found = client.get(url, {"q": "Busan|M"})
    assert found.context["members"].paginator.count == 10
    assert {m.cell.key for m in found.context["members"]} == {"Busan|M"}
    nothing = client.get(url, {"q": "nobody"})
    assert "No panel member matches this search." in nothing.text
    client.force_login(outsider)
    assert client.get(url).status_code == 404


def test_quotas_of_a_draft_survey_are_edited_until_the_draw(client, researcher, draft):
    client.force_login(researcher)
    section = reverse("surveys:dashboard_section", args=[draft.pk, "quotas"])
    html = client.get(section).text
    assert 'name="target-' in html and "Save targets" in html
    quotas = list(QuotaCell.objects.filter(design=draft.design).order_by("cell_id"))
    data = {f"target-{q.pk}": str(q.target) for q in quotas}
    data[f"target-{quotas[0].pk}"] = "9"
    saved = client.post(reverse("surveys:quotas_update", args=[draft.pk]), data)
    assert saved.status_code == 302
    total = 9 + sum(q.target for q in quotas[1:])
    assert flashes(saved) == [f"Quotas saved: the sample size is now {total}."]
    assert QuotaCell.objects.get(pk=quotas[0].pk).target == 9
    assert SampleDesign.objects.get(pk=draft.design_id).target_n == total

    # Bad numbers change nothing; the page shows what was typed, the error by its cell.
    for bad in ["-1", "x", str(2**31)]:
        page = post_refused(
            client,
            reverse("surveys:quotas_update", args=[draft.pk]),
            {**data, f"target-{quotas[1].pk}": bad},
        )
        shown = {q.pk: q for q in page.context["quotas"]}
        assert shown[quotas[1].pk].typed == bad
        assert shown[quotas[1].pk].errors
        assert shown[quotas[0].pk].typed == "9" and not shown[quotas[0].pk].errors
        assert f'value="{bad}"' in page.text
        assert str(shown[quotas[1].pk].errors[0]) in page.text
    assert QuotaCell.objects.get(pk=quotas[1].pk).target == quotas[1].target

    sample_draw(survey=draft, seed=1)
    html = client.get(section).text
    assert 'name="target-' not in html
    late = post_refused(client, reverse("surveys:quotas_update", args=[draft.pk]), data)
    assert late.context["quotas_refused"] == [
        "Quotas can change only before the sample is drawn, in a draft survey."
    ]
    assert "Quotas can change only before the sample is drawn" in late.text
    assert QuotaCell.objects.get(pk=quotas[0].pk).target == 9


def test_quotas_of_another_design_are_refused(client, researcher, draft, study, population):
    from surveys.services import design_create

    other = design_create(study=study, population=population, name="Other", n=8)
    foreign = QuotaCell.objects.filter(design=other).first()
    client.force_login(researcher)
    response = client.post(
        reverse("surveys:quotas_update", args=[draft.pk]), {f"target-{foreign.pk}": "3"}
    )
    assert flashes(response) == ["No quota target was sent."]
    assert QuotaCell.objects.get(pk=foreign.pk).target == foreign.target
