"""CSV imports: all-or-nothing with a report per bad row; panels are idempotent."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from surveys.models import Cell, Panel, Panelist, PanelistContact, Population
from surveys.services import panel_import, population_import

pytestmark = pytest.mark.django_db


def test_population_import_creates_cells(study):
    csv_text = "\ufeffregion,gender,count\nSeoul,F,600\nSeoul,M,400\nBusan,F,0\n"
    population = population_import(study=study, name="KR", csv_text=csv_text.encode())
    assert population.variables == ["region", "gender"]
    assert list(population.cells.values_list("key", "count", "values")) == [
        ("Seoul|F", 600, {"region": "Seoul", "gender": "F"}),
        ("Seoul|M", 400, {"region": "Seoul", "gender": "M"}),
        ("Busan|F", 0, {"region": "Busan", "gender": "F"}),
    ]


def test_malformed_population_imports_nothing_and_reports_each_bad_row(study):
    csv_text = "region,gender,count\nSeoul,F,600\nSeoul,,10\nBusan,F,-3\nBusan,M,many\nSeoul,F,5\n"
    with pytest.raises(ValidationError) as err:
        population_import(study=study, name="KR", csv_text=csv_text)
    assert err.value.message_dict == {
        "rows": [
            "Row 3: missing gender.",
            "Row 4: count -3 is negative.",
            "Row 5: count 'many' is not a whole number.",
            "Row 6: cell Seoul|F repeats row 2.",
        ]
    }
    assert Population.objects.count() == 0
    assert Cell.objects.count() == 0


def test_population_without_count_column_is_refused(study):
    with pytest.raises(ValidationError) as err:
        population_import(study=study, name="KR", csv_text="region,gender\nSeoul,F\n")
    assert err.value.message_dict == {"file": ["The header must have a 'count' column."]}


PANEL_CSV = (
    "external_id,region,gender,email,phone\n"
    "A1,Seoul,F,a1@example.org,010-1\n"
    "A2,Busan,M,a2@example.org,\n"
)


def test_panel_import_is_idempotent_by_external_id(study, population):
    panel = Panel.objects.create(study=study, population=population, name="P")
    first = panel_import(panel=panel, csv_text=PANEL_CSV)
    assert first.as_dict() == {"created": 2, "updated": 0, "unchanged": 0, "errors": []}
    again = panel_import(panel=panel, csv_text=PANEL_CSV)
    assert again.as_dict() == {"created": 0, "updated": 0, "unchanged": 2, "errors": []}
    moved = panel_import(
        panel=panel, csv_text="external_id,region,gender,email\nA2,Seoul,M,new@example.org\n"
    )
    assert moved.as_dict() == {"created": 0, "updated": 1, "unchanged": 0, "errors": []}
    a2 = Panelist.objects.get(panel=panel, external_id="A2")
    assert a2.cell.key == "Seoul|M"
    assert a2.contact.email == "new@example.org"
    assert Panelist.objects.filter(panel=panel).count() == 2
    assert PanelistContact.objects.count() == 2


def test_malformed_panel_imports_nothing(study, population):
    panel = Panel.objects.create(study=study, population=population, name="P")
    csv_text = (
        "external_id,region,gender,email\n"
        "A1,Seoul,F,a1@example.org\n"
        ",Seoul,F,\n"
        "A3,Jeju,F,\n"
        "A4,Busan,M,not-an-email\n"
        "A1,Busan,F,\n"
    )
    with pytest.raises(ValidationError) as err:
        panel_import(panel=panel, csv_text=csv_text)
    assert err.value.message_dict == {
        "rows": [
            "Row 3: missing external_id.",
            "Row 4: no cell Jeju|F in population Korea.",
            "Row 5: email 'not-an-email' is not valid.",
            "Row 6: external_id A1 repeats row 2.",
        ]
    }
    assert Panelist.objects.count() == 0
    assert PanelistContact.objects.count() == 0
