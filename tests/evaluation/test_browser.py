"""A researcher uploads a model's predictions and sees the leaderboard update; another model
runs through an endpoint (the local stub) while its progress bar fills, then shows its scores."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from benchmarks.selectors import version_items
from evaluation.models import Run
from evaluation.services.endpoints import endpoint_create
from evaluation.stub import StubServer
from tests.conftest import browser_login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_uploaded_predictions_reach_the_leaderboard(page, researcher, version, tmp_path):
    items = version_items(version=version)
    path = tmp_path / "preds.csv"
    path.write_text(
        "item,label\n"
        + "".join(
            f"{k},{v if isinstance(v, str) else 'joy'}\n"
            for k, v in zip(items["item"], items["plurality.label"], strict=True)
        )
    )
    browser_login(page, researcher)
    page.goto(f"/benchmarks/datasets/{version.dataset_id}/")
    page.locator("#leaderboard-link").click()
    expect(page.get_by_role("heading", name="Leaderboard")).to_be_visible()
    expect(page.locator("#leaderboard")).to_have_count(0)
    page.fill("#id_name", "copycat")
    page.set_input_files("#id_file", str(path))
    with page.expect_navigation():
        page.get_by_role("button", name="Upload and score").click()
    rows = page.locator("#leaderboard tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("copycat")
    expect(rows.first).to_contain_text("macro_f1 · plurality")
    expect(rows.first).to_contain_text("1.000")


@pytest.mark.celery_worker
def test_an_endpoint_run_fills_its_progress_bar(page, celery_worker, study, researcher, version):
    with StubServer(delay=0.05) as stub:
        endpoint_create(
            study=study, user=researcher, name="Local stub", url=stub.url, model="stub-1",
            max_concurrency=2,
        )  # fmt: skip
        browser_login(page, researcher)
        page.goto(f"/evaluation/datasets/{version.dataset_id}/")
        page.get_by_label("Run name").fill("stub run")
        with page.expect_navigation():
            page.get_by_role("button", name="Start the run").click()
        expect(page.get_by_role("heading", name="stub run")).to_be_visible()
        # The bar appears while the worker asks the stub, and the page reloads when it ends.
        expect(page.locator("#rule-scores")).to_be_visible(timeout=60_000)
    run = Run.objects.get(name="stub run")
    assert (run.status, run.n_predicted, run.n_failed) == ("done", 30, 0)
    assert stub.max_active <= 2
    page.goto(f"/evaluation/datasets/{version.dataset_id}/")
    expect(page.locator("#leaderboard tbody tr")).to_contain_text("stub run")


def test_lm_eval_task_export_and_bias_report_in_the_browser(
    page, researcher, text_version, tmp_path
):
    """The version page exports the lm-evaluation-harness task alone; a run's page shows the
    bias report per item attribute with the gap's interval."""
    import io
    import zipfile
    from pathlib import Path

    from benchmarks.services.lm_eval import task_name

    browser_login(page, researcher)
    page.goto(f"/benchmarks/datasets/{text_version.dataset_id}/versions/1/")
    page.get_by_label("Format").select_option("lm-eval")
    with page.expect_navigation():
        page.get_by_role(
            "button", name="Export (CSV, JSONL, Parquet, Hugging Face, Croissant)"
        ).click()
    link = page.locator("a.export-download")
    page.reload()
    expect(link).to_be_visible()
    expect(page.locator("ul.exports")).to_contain_text("lm-evaluation-harness task")
    with page.expect_download() as info:
        link.click()
    assert info.value.suggested_filename == "emotions-with-texts-v1-lm-eval.zip"
    with zipfile.ZipFile(io.BytesIO(Path(info.value.path()).read_bytes())) as zf:
        assert f"lm_eval/{task_name(text_version)}.yaml" in zf.namelist()

    items = version_items(version=text_version)
    path = tmp_path / "preds.csv"
    path.write_text(
        "item,label\n"
        + "".join(
            f"{k},{v if isinstance(v, str) else 'joy'}\n"
            for k, v in zip(items["item"], items["plurality.label"], strict=True)
        )
    )
    page.goto(f"/evaluation/datasets/{text_version.dataset_id}/")
    page.fill("#id_name", "copycat")
    page.set_input_files("#id_file", str(path))
    with page.expect_navigation():
        page.get_by_role("button", name="Upload and score").click()
    page.get_by_role("link", name="copycat").click()
    for name in ("country", "year", "speaker_gender"):
        expect(page.get_by_role("heading", name=name, exact=True)).to_be_visible()
    expect(page.locator("p.gap").first).to_contain_text("95% interval of the gap")
