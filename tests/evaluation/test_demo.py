"""The evaluation demo: two simulated models and a stub endpoint run on every demo dataset,
ranked on its leaderboard, in process (no worker, nothing beyond 127.0.0.1), once."""

from __future__ import annotations

import io
import time

import pytest

from accounts.demo import load_people
from benchmarks.models import Dataset
from evaluation import demo
from evaluation.models import Prediction, Run, RunKind, RunStatus
from evaluation.selectors import leaderboard

pytestmark = pytest.mark.django_db


def test_every_demo_dataset_has_three_runs_on_its_leaderboard(client):
    from annotation import demo as annotation_demo
    from benchmarks import demo as benchmarks_demo
    from surveys import demo as survey_demo

    people = load_people()
    for module in (survey_demo, annotation_demo, benchmarks_demo):
        module.load(people=people, stdout=io.StringIO())
    started = time.perf_counter()
    out = io.StringIO()
    demo.load(people=people, stdout=out)
    assert time.perf_counter() - started < 60
    datasets = list(Dataset.objects.order_by("name"))
    assert len(datasets) == 4
    stub_name = f"{demo.ENDPOINT} ({demo.STUB_MODEL})"
    for dataset in datasets:
        board = leaderboard(dataset=dataset)
        names = [row["run"].name for row in board["rows"]]
        assert sorted(names) == sorted([demo.CLOSE, demo.RANDOM, stub_name]), dataset.name
        # The model close to people's answers beats the coin flips.
        assert names.index(demo.CLOSE) < names.index(demo.RANDOM), dataset.name
        stub = Run.objects.get(dataset=dataset, name=stub_name)
        assert (stub.kind, stub.status, stub.n_failed) == (RunKind.ENDPOINT, RunStatus.DONE, 0)
        assert stub.n_predicted == stub.n_items == Prediction.objects.filter(run=stub).count()
        assert stub.tokens_in > 0 and stub.scores["headline"] is not None
        assert f"  {dataset.name}: 3 runs on the leaderboard" in out.getvalue()
    survey = Dataset.objects.get(name=survey_demo.SURVEY_DATASET)
    close = Run.objects.get(dataset=survey, name=demo.CLOSE)
    assert close.scores["headline"]["metric"] == "alignment"
    assert set(close.scores["survey"]["groups"]) >= {"region", "age", "gender"}

    client.force_login(people.researcher)
    page = client.get(f"/evaluation/datasets/{survey.pk}/").content.decode()
    assert demo.CLOSE in page and stub_name in page

    # Loading again changes nothing.
    runs = sorted(Run.objects.values_list("pk", flat=True))
    demo.load(people=people, stdout=io.StringIO())
    assert sorted(Run.objects.values_list("pk", flat=True)) == runs
