"""The source contract's layering: benchmarks reads sources only through ``sources.registry``.

Every module is parsed (not imported), so an import hidden inside a function counts too.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_floors import imports_of

ROOT = Path(__file__).resolve().parents[2]
DOMAIN_APPS = {"accounts", "jobs", "surveys", "annotation", "benchmarks", "evaluation"}


def imported_packages(folder: str) -> dict[str, set[str]]:
    """Top-level packages imported by each module of ``folder`` (parsed by the floors test)."""
    return {
        str(path.relative_to(ROOT)): {name.split(".")[0] for name in imports_of(path)}
        for path in sorted((ROOT / folder).rglob("*.py"))
    }


def test_the_folders_are_there():
    # A renamed folder would make the checks below pass on nothing.
    assert len(imported_packages("benchmarks")) > 20
    assert len(imported_packages("sources")) >= 4


@pytest.mark.parametrize("app", ["surveys", "annotation"])
def test_no_module_of_benchmarks_imports_a_source_app(app):
    offenders = [path for path, names in imported_packages("benchmarks").items() if app in names]
    assert offenders == []


def test_no_module_of_sources_imports_a_domain_app():
    offenders = {
        path: sorted(names & DOMAIN_APPS)
        for path, names in imported_packages("sources").items()
        if names & DOMAIN_APPS
    }
    assert offenders == {}


def test_the_two_source_apps_do_not_import_each_other():
    surveys = [p for p, n in imported_packages("surveys").items() if "annotation" in n]
    annotation = [p for p, n in imported_packages("annotation").items() if "surveys" in n]
    assert (surveys, annotation) == ([], [])
