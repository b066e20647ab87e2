"""The floors of the house: which package may import which (docs/architecture.md, "Floors").

Modules are parsed, not imported, so an import inside a function counts too. Demo modules
(``*/demo.py`` and the ``demo`` command) assemble data across the floors and are exempt;
migrations are frozen history and are skipped.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Each package and the Chorus packages it may import (besides itself).
FLOORS: dict[str, set[str]] = {
    "sources": set(),
    "accounts": {"config"},
    "idempotency": {"config"},
    "jobs": {"accounts", "config"},
    "surveys": {"accounts", "jobs", "idempotency", "sources", "config"},
    "annotation": {"accounts", "jobs", "idempotency", "sources", "config"},
    "benchmarks": {"accounts", "jobs", "idempotency", "sources", "config"},
    "evaluation": {"accounts", "jobs", "idempotency", "sources", "benchmarks", "config"},
    # Imports of other tools' exports become annotation projects.
    "interop": {"accounts", "jobs", "idempotency", "sources", "annotation", "config"},
}
CHORUS = {*FLOORS, "config"}

# The pure kernels: numbers in, numbers out; no Django and no Chorus package but kernels.
KERNELS = [
    "surveys/sampling.py",
    "surveys/weighting.py",
    "surveys/representativeness.py",
    "annotation/agreement.py",
    "annotation/quality.py",
    "benchmarks/aggregation.py",
    "benchmarks/splitting.py",
    "evaluation/metrics.py",
    "sources/codes.py",
]


def imports_of(path: Path) -> set[str]:
    """Dotted names imported by the module at ``path`` (absolute imports)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def modules(package: str) -> list[Path]:
    found = []
    for path in sorted((ROOT / package).rglob("*.py")):
        parts = path.relative_to(ROOT).parts
        if "migrations" in parts or path.name == "demo.py" or parts[-2:] == ("commands", "demo.py"):
            continue
        found.append(path)
    return found


@pytest.mark.parametrize("package", sorted(FLOORS))
def test_a_package_imports_only_the_floors_below_it(package):
    paths = modules(package)
    assert paths, f"no module found in {package}/"
    offenders = {}
    for path in paths:
        above = {n.split(".")[0] for n in imports_of(path)} & CHORUS - FLOORS[package] - {package}
        if above:
            offenders[str(path.relative_to(ROOT))] = sorted(above)
    assert offenders == {}


@pytest.mark.parametrize("kernel", KERNELS)
def test_a_kernel_imports_no_django_and_no_service(kernel):
    path = ROOT / kernel
    kernel_modules = {k.removesuffix(".py").replace("/", ".") for k in KERNELS}
    bad = sorted(
        n
        for n in imports_of(path)
        if n.split(".")[0] == "django" or (n.split(".")[0] in CHORUS and n not in kernel_modules)
    )
    assert bad == []
