from __future__ import annotations

import pytest

from tests.surveys import factories


@pytest.fixture
def population(study):
    return factories.make_population(study)


@pytest.fixture
def panel(study, population):
    return factories.make_panel(study, population, per_cell=10)


@pytest.fixture
def design(study, population, panel):
    from surveys.services import design_create

    return design_create(study=study, population=population, panel=panel, name="Main", n=20)


@pytest.fixture
def survey(study, design, colleague):
    return factories.make_survey(study, design, reviewer=colleague)


@pytest.fixture
def open_survey(study, design, colleague):
    return factories.make_survey(study, design, open_link=True, reviewer=colleague)
