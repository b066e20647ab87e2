"""The setup page in a real browser: a researcher imports a population and a panel from files,
previews and creates a sample design, and creates a survey on it; axe audits each state."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from surveys.models import Panel, Population, SampleDesign, Survey
from tests.conftest import axe_violations as audit
from tests.conftest import browser_login
from tests.surveys import factories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def panel_csv(per_cell: int) -> str:
    lines = ["external_id,region,gender,email"]
    i = 0
    for region in factories.REGIONS:
        for gender in factories.GENDERS:
            for _ in range(per_cell):
                i += 1
                lines.append(f"P{i:04d},{region},{gender},p{i}@example.org")
    return "\n".join(lines) + "\n"


def test_researcher_sets_up_a_survey_from_files(page, researcher, study, tmp_path):
    census = tmp_path / "census.csv"
    census.write_text(factories.population_csv(), encoding="utf-8")
    bad_census = tmp_path / "bad.csv"
    bad_census.write_text("region,gender,count\nSeoul,F,600\nSeoul,,10\n", encoding="utf-8")
    people = tmp_path / "panel.csv"
    people.write_text(panel_csv(per_cell=10), encoding="utf-8")

    browser_login(page, researcher)
    page.goto("/")
    page.get_by_role("link", name="Set up surveys").first.click()
    expect(page.locator("h1")).to_have_text("Set up surveys")
    assert audit(page) == []

    # A bad file first: the row is named, nothing is created.
    form = page.locator("#population-form")
    form.get_by_label("Name").fill("Korean adults")
    form.get_by_label("Census counts (CSV)").set_input_files(str(bad_census))
    form.get_by_role("button", name="Import population").click()
    expect(page.locator("#field-population-file .errorlist")).to_have_text("Row 3: missing gender.")
    assert audit(page) == []
    assert Population.objects.count() == 0

    form = page.locator("#population-form")
    form.get_by_label("Name").fill("Korean adults")
    form.get_by_label("Census counts (CSV)").set_input_files(str(census))
    form.get_by_role("button", name="Import population").click()
    expect(page.get_by_role("status")).to_contain_text(
        "Population Korean adults imported: 4 cells."
    )

    form = page.locator("#panel-form")
    form.get_by_label("Population").select_option(label="Korean adults")
    form.get_by_label("Panel name").fill("Online panel")
    form.get_by_label("Panelists (CSV)").set_input_files(str(people))
    form.get_by_role("button", name="Import panel").click()
    expect(page.get_by_role("status")).to_contain_text(
        "Panel Online panel: 40 created, 0 updated, 0 unchanged."
    )

    form = page.locator("#design-form")
    form.get_by_label("Population:", exact=True).select_option(label="Korean adults")
    form.get_by_label("Panel (optional)").select_option(label="Online panel")
    form.get_by_label("Name").fill("Main sample")
    form.get_by_label("Sample size (n)").fill("20")
    form.get_by_role("button", name="Preview").click()
    preview = page.locator("#design-preview")
    expect(preview).to_contain_text("Sample size n = 20.")
    expect(preview.locator("tbody tr")).to_have_count(4)
    expect(preview.locator("tbody tr").last.locator("td")).to_have_text(
        ["Busan|M", "200", "10", "3"]
    )
    assert audit(page) == []
    assert SampleDesign.objects.count() == 0

    page.locator("#design-form").get_by_role("button", name="Create design").click()
    expect(page.get_by_role("status")).to_contain_text("Sample design Main sample created: n = 20.")

    form = page.locator("#survey-form")
    form.get_by_label("Title (English)").fill("Values")
    form.get_by_label("Title (Korean)").fill("가치관 조사")
    form.get_by_label("Sample design").select_option(label="Main sample")
    form.get_by_role("button", name="Create survey").click()
    expect(page.get_by_role("status")).to_contain_text(
        "Survey Values created: now write its questions."
    )
    expect(page.locator("h1")).to_contain_text("Questionnaire")
    assert audit(page) == []

    survey = Survey.objects.get()
    design = SampleDesign.objects.get()
    panel = Panel.objects.get()
    assert (survey.title_ko, survey.design, design.panel, design.target_n) == (
        "가치관 조사",
        design,
        panel,
        20,
    )
    assert panel.panelists.count() == 40
    assert dict(design.quotas.values_list("cell__key", "target")) == {
        "Seoul|F": 8,
        "Seoul|M": 5,
        "Busan|F": 4,
        "Busan|M": 3,
    }
    page.get_by_role("link", name="Values", exact=True).click()
    expect(page.locator("h1")).to_contain_text("Values")
