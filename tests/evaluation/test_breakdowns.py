"""Bias reports of annotation versions: scores per item attribute (country, year, speaker
gender: any metadata column of the items) and per rater attribute, each with its interval, and
the largest gap between a column's values; on the run page and in the API.

Expected values are scikit-learn's ``f1_score(average="macro")`` on the items of each value."""

from __future__ import annotations

import pandas as pd
import pytest
from sklearn import metrics as skm

from benchmarks.selectors import version_items
from benchmarks.services import dataset_create, source_upload_create, version_build
from evaluation.services import run_upload
from tests.benchmarks.factories import CATEGORIES, csv_bytes, vote_frame
from tests.evaluation.conftest import text_items

pytestmark = pytest.mark.django_db


def wrong(label: str) -> str:
    return CATEGORIES[(CATEGORIES.index(label) + 1) % 3]


def test_item_attributes_each_get_scores_intervals_and_the_largest_gap(
    text_version, researcher, api_client, client
):
    items = version_items(version=text_version)
    meta = text_items().set_index("item")
    truth = items.set_index("item")["plurality.label"]
    # Right on every Korean item, wrong on every second American one.
    answers = []
    for i, (key, label) in enumerate(truth.items()):
        label = label if isinstance(label, str) else "joy"
        if meta.at[key, "meta.country"] == "US" and i % 2:
            label = wrong(label)
        answers.append((key, label))
    frame = pd.DataFrame(answers, columns=["item", "label"])
    run = run_upload(
        dataset=text_version.dataset,
        version=text_version,
        user=researcher,
        name="model",
        raw=frame.to_csv(index=False).encode(),
        file_name="p.csv",
    )
    attributes = run.scores["groups"]["item_attributes"]
    assert set(attributes) == {"country", "year", "speaker_gender", "speaker"}
    assert set(attributes["speaker_gender"]["values"]) == {"female", "male"}
    assert set(attributes["year"]["values"]) == {"2020", "2021", "2022"}

    predicted = frame.set_index("item")["label"]
    expected = {}
    for country in ("KR", "US"):
        keys = [k for k in meta.index[meta["meta.country"] == country] if isinstance(truth[k], str)]
        expected[country] = skm.f1_score(
            truth[keys].astype(str), predicted[keys], average="macro", zero_division=0
        )
        got = attributes["country"]["values"][country]
        assert got["n_items"] == len(keys)
        assert got["macro_f1"]["estimate"] == pytest.approx(expected[country])
        assert got["macro_f1"]["low"] <= got["macro_f1"]["estimate"] <= got["macro_f1"]["high"]
    assert expected["KR"] == 1.0 and expected["US"] < 1.0
    gap = attributes["country"]["largest_gap"]
    assert (gap["highest"], gap["lowest"]) == ("KR", "US")
    assert gap["gap"] == pytest.approx(expected["KR"] - expected["US"])
    assert gap["low"] < gap["gap"] < gap["high"]

    api_client.force_authenticate(researcher)
    body = api_client.get(f"/api/evaluation/runs/{run.pk}/").json()
    assert body["scores"]["groups"]["item_attributes"]["country"]["largest_gap"] == gap
    client.force_login(researcher)
    page = client.get(f"/evaluation/runs/{run.pk}/").content.decode()
    for name in ("country", "year", "speaker_gender"):
        assert f"<h3>{name}</h3>" in page
    assert "highest KR, lowest US" in page
    assert f"95% interval of the gap: [{gap['low']:.3f}, {gap['high']:.3f}]" in page
    korean = client.get(
        f"/evaluation/runs/{run.pk}/", headers={"accept-language": "ko"}
    ).content.decode()
    assert f"차이의 95% 구간: [{gap['low']:.3f}, {gap['high']:.3f}]" in korean


def test_rater_attributes_compare_the_model_with_each_group_s_own_labels(study, researcher):
    votes = vote_frame(n_items=20, raters=6)
    # Three raters always give the favourite label, the other three always another one.
    favourite = {f"i{i:02d}": CATEGORIES[i % 3] for i in range(20)}
    first = votes["voter"].isin(["person-0", "person-1", "person-2"])
    votes["label"] = [
        favourite[k] if f else wrong(favourite[k])
        for k, f in zip(votes["item"], first, strict=True)
    ]
    votes["training"] = ["linguists" if f else "crowd" for f in first]
    dataset = dataset_create(
        study=study,
        user=researcher,
        name="Two kinds of raters",
        categories=CATEGORIES,
        parameters={"tie_policy": "drop", "seed": 1, "agreement_boot": 10},
        split_group="speaker",
    )
    source_upload_create(dataset=dataset, file_name="votes.csv", content=csv_bytes(votes))
    version = version_build(dataset=dataset, user=researcher)
    text = "item,label\n" + "".join(f"{k},{v}\n" for k, v in favourite.items())
    run = run_upload(
        dataset=dataset, version=version, user=researcher, name="m", raw=text.encode(),
        file_name="p.csv",
    )  # fmt: skip
    groups = run.scores["groups"]["rater_groups"]["training"]
    assert groups["values"]["linguists"]["macro_f1"]["estimate"] == pytest.approx(1.0)
    assert groups["values"]["crowd"]["macro_f1"]["estimate"] == pytest.approx(0.0)
    assert groups["largest_gap"]["gap"] == pytest.approx(1.0)
    assert (groups["largest_gap"]["highest"], groups["largest_gap"]["lowest"]) == (
        "linguists",
        "crowd",
    )
    # The speaker is about the item, not the rater: an item attribute only.
    assert "speaker" not in run.scores["groups"]["rater_groups"]
