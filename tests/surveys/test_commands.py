"""The management commands drive the same services from a shell."""

from __future__ import annotations

from io import StringIO

import pandas as pd
import pytest
from django.core.management import CommandError, call_command

from surveys.models import Invitation, Panelist, Population
from surveys.services import design_create
from tests.surveys.factories import make_survey, population_csv

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue().strip()


def test_commands_from_import_to_export(tmp_path, study, colleague, mailoutbox):
    (tmp_path / "pop.csv").write_text(population_csv())
    assert (
        run(
            "import_population", str(tmp_path / "pop.csv"), "--study", str(study.pk), "--name", "KR"
        )
        == f"Population {Population.objects.get().pk}: 4 cells, 1,500 people."
    )
    population = Population.objects.get()
    rows = ["external_id,region,gender,email"] + [
        f"X{i},{c.values['region']},{c.values['gender']},x{i}@example.org"
        for i, c in enumerate(list(population.cells.all()) * 3)
    ]
    (tmp_path / "panel.csv").write_text("\n".join(rows))
    out = run("import_panel", str(tmp_path / "panel.csv"), "--population", str(population.pk))
    assert out.endswith("12 created, 0 updated, 0 unchanged.")
    panel = Panelist.objects.first().panel
    design = design_create(study=study, population=population, panel=panel, name="D", n=8)
    survey = make_survey(study, design, reviewer=colleague)
    assert run("draw_sample", "--survey", str(survey.pk), "--seed", "4").endswith(": 8 invited.")
    assert run("send_invitations", "--survey", str(survey.pk)) == (
        "8 sent, 0 without an email address."
    )
    assert len(mailoutbox) == 8
    from surveys.services import response_start
    from tests.surveys.factories import complete

    for invitation in Invitation.objects.all():
        complete(response_start(survey=survey, invitation=invitation))
    out = run("compute_weights", "--survey", str(survey.pk))
    assert out.startswith("8 weights (poststratify), sum 1500.0")
    run("export_responses", "--survey", str(survey.pk), "--output", str(tmp_path))
    frame = pd.read_csv(tmp_path / f"survey-{survey.pk}-responses.csv")
    assert len(frame) == 8
    assert frame["weight"].sum() == pytest.approx(1500)


def test_bad_csv_fails_with_each_row(tmp_path, study):
    (tmp_path / "pop.csv").write_text("region,count\nSeoul,x\nBusan,-2\n")
    with pytest.raises(CommandError) as err:
        run(
            "import_population", str(tmp_path / "pop.csv"), "--study", str(study.pk), "--name", "KR"
        )
    assert str(err.value) == (
        "rows: Row 2: count 'x' is not a whole number.\nrows: Row 3: count -2 is negative."
    )
    assert Population.objects.count() == 0
