"""Demo runs: two simulated models and one stub endpoint on every demo dataset's latest version.

- **Simulated: close to people** answers each item with a distribution near the people's (the
  survey question's weighted answer shares, or the raters' soft label), so it ranks high.
- **Simulated: coin flips** answers with random probabilities, a floor to compare with.
- **Stub endpoint** is ``evaluation.stub.StubServer`` started in this process for the length
  of the demo: the run asks it every item over HTTP, as a real endpoint run does, but without a
  worker (``endpoint_run_execute`` is called directly) and without any network beyond
  127.0.0.1. The endpoint stays listed in the study; its address only answered during the demo.

Idempotent: a run that is already on a version is left alone.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from benchmarks.models import Dataset, Version
from benchmarks.selectors import version_contents, version_items
from evaluation.models import ModelEndpoint, Run
from evaluation.services import run_upload
from evaluation.services.endpoints import (
    endpoint_create,
    endpoint_run_create,
    endpoint_run_execute,
)
from evaluation.stub import StubServer

CLOSE = "Simulated: close to people"
RANDOM = "Simulated: coin flips"
ENDPOINT = "Stub model (demo)"
STUB_MODEL = "stub-1"
SEED = 2026


def _rows(version: Version, *, close: bool, rng: np.random.Generator) -> list[dict[str, Any]]:
    """One prediction per item: a probability row and the label it puts first."""
    items = version_items(version=version)
    contents = version_contents(version=version)
    by_item = (
        {str(r["item"]): r for r in contents.to_dict("records")} if contents is not None else {}
    )
    cats = list(version.categories)
    soft = [f"soft.p.{c}" for c in cats]
    rows = []
    for record in items.to_dict("records"):
        key = str(record["item"])
        content = by_item.get(key, {})
        if str(content.get("kind")) == "question":
            names = [str(o) for o in content["options"]]
            people = content.get("distribution")
            people = np.asarray(people if people is not None else [], dtype=np.float64)
        else:
            names = cats
            people = np.asarray([record.get(c, np.nan) for c in soft], dtype=np.float64)
        noise = rng.dirichlet(np.ones(len(names)))
        usable = len(people) == len(names) and np.isfinite(people).all() and people.sum() > 0
        probs = 0.7 * people / people.sum() + 0.3 * noise if close and usable else noise
        probs = np.round(probs / probs.sum(), 6)
        probs[-1] = max(0.0, 1.0 - probs[:-1].sum())
        label = names[int(np.argmax(probs))]
        rows.append({"item": key, "label": label, "probs": [float(p) for p in probs]})
    return rows


def _upload(dataset: Dataset, version: Version, people, name: str, *, close: bool) -> None:
    rng = np.random.default_rng([SEED, version.pk, int(close)])
    rows = _rows(version, close=close, rng=rng)
    raw = "\n".join(json.dumps(r) for r in rows).encode()
    run_upload(
        dataset=dataset,
        version=version,
        user=people.researcher,
        name=name,
        raw=raw,
        file_name="demo.jsonl",
    )


def _endpoint(people, url: str) -> ModelEndpoint:
    endpoint = ModelEndpoint.objects.filter(study=people.study, name=ENDPOINT).first()
    if endpoint is None:
        return endpoint_create(
            study=people.study,
            user=people.researcher,
            name=ENDPOINT,
            url=url,
            model=STUB_MODEL,
            max_concurrency=4,
            timeout_seconds=10.0,
            max_retries=1,
            price_input=0.0005,
            price_output=0.0015,
        )
    # The stub listens on a new port each time the demo runs.
    ModelEndpoint.objects.filter(pk=endpoint.pk).update(url=url)
    endpoint.url = url
    return endpoint


def load(*, people, stdout) -> None:
    datasets = Dataset.objects.filter(study=people.study).order_by("name")
    stub_name = f"{ENDPOINT} ({STUB_MODEL})"
    with StubServer(seed=SEED) as stub:
        for dataset in datasets:
            version = Version.objects.filter(dataset=dataset).order_by("-number").first()
            if version is None:
                continue
            have = set(Run.objects.filter(version=version).values_list("name", flat=True))
            for name, close in ((CLOSE, True), (RANDOM, False)):
                if name not in have:
                    _upload(dataset, version, people, name, close=close)
            if stub_name not in have:
                endpoint = _endpoint(people, stub.url)
                run = endpoint_run_create(
                    dataset=dataset,
                    version=version,
                    endpoint=endpoint,
                    user=people.researcher,
                    name=stub_name,
                )
                endpoint_run_execute(run=run)
            n = Run.objects.filter(version=version).count()
            stdout.write(f"  {dataset.name}: {n} runs on the leaderboard")
