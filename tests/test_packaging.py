"""Chorus installs as a package: ``pip install .`` carries every product module, template,
static file, migration and catalogue (and no tests), and the installed copy runs on its own."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.conftest import REPO

PRODUCT = [
    "config", "accounts", "jobs", "sources", "surveys", "annotation", "benchmarks", "evaluation",
    "idempotency", "interop", "templates", "static", "locale",
]  # fmt: skip


def tracked_product_files() -> set[str]:
    out = subprocess.run(
        ["git", "ls-files", *PRODUCT], cwd=REPO, capture_output=True, text=True, check=True
    )
    return {p for p in out.stdout.splitlines() if not p.endswith(".gitkeep")}


def source_copy(dest: Path) -> Path:
    """The tracked files of the working tree, copied: the build's own folder (``build/``)
    then lands in the copy, not in the checkout."""
    out = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True)
    for name in out.stdout.splitlines():
        src = REPO / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    return dest


def test_pip_install_carries_the_whole_product_and_runs_from_there(tmp_path):
    target = tmp_path / "site"
    source = source_copy(tmp_path / "source")
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--target", str(target), str(source)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    installed = {
        str(p.relative_to(target))
        for p in target.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    missing = sorted(tracked_product_files() - installed)
    assert missing == []
    assert not any(p.startswith(("tests/", "perf/", "load/")) for p in installed)

    # The installed copy, away from the checkout: settings, templates, a Korean catalogue.
    script = textwrap.dedent(
        """
        import django
        from django.conf import settings
        django.setup()
        from django.core.management import call_command
        from django.template.loader import render_to_string
        from django.utils import translation
        assert str(settings.BASE_DIR) == {target!r}, settings.BASE_DIR
        call_command("check")
        assert "<html" in render_to_string("403.html")
        with translation.override("ko"):
            assert translation.gettext("Researcher") == "연구자"
        print("ok")
        """
    ).format(target=str(target))
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "PYTHONPATH"}}
    env.update(PYTHONPATH=str(target), DJANGO_SETTINGS_MODULE="config.settings")
    ran = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr[-3000:]
    assert ran.stdout.strip().endswith("ok")
    assert Path(target, "templates", "base.html").is_file()
