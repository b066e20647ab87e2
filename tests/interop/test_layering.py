"""The parsers and writers know only the source contract: no domain app, no Django."""

from __future__ import annotations

from tests.sources.test_import_graph import DOMAIN_APPS, imported_packages


def test_parsers_and_writers_import_only_sources():
    found = {
        path: names
        for path, names in imported_packages("interop").items()
        if "/parsers/" in path or path.endswith("writers.py")
    }
    assert len(found) >= 8  # the package, common, tabular, five tools, writers
    offenders = {
        path: sorted(names & (DOMAIN_APPS | {"django", "config", "interop.services"}))
        for path, names in found.items()
        if names & (DOMAIN_APPS | {"django", "config"})
    }
    assert offenders == {}
