"""Uploaded predictions: checked against the version, stored with their run, scored per rule."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from django.core.exceptions import ValidationError
from sklearn import metrics as skm

from benchmarks.selectors import version_items
from evaluation.models import Prediction, Run
from evaluation.services import run_upload
from tests.benchmarks.factories import CATEGORIES

pytestmark = pytest.mark.django_db


def upload(version, researcher, text: str, name: str = "model-a", file_name: str = "p.csv"):
    return run_upload(
        dataset=version.dataset,
        version=version,
        user=researcher,
        name=name,
        raw=text.encode(),
        file_name=file_name,
    )


def plurality_answers(version, wrong_every: int = 4) -> pd.DataFrame:
    items = version_items(version=version)
    labels = items["plurality.label"].fillna("joy").astype(str).tolist()
    for i in range(0, len(labels), wrong_every):
        labels[i] = CATEGORIES[(CATEGORIES.index(labels[i]) + 1) % 3]
    return pd.DataFrame({"item": items["item"].astype(str), "label": labels})


def test_labels_are_scored_against_every_rule_with_intervals(version, researcher):
    answers = plurality_answers(version)
    run = upload(version, researcher, answers.to_csv(index=False))
    assert Run.objects.count() == 1 and Prediction.objects.count() == 30
    scores = run.scores
    assert scores["report"] == {"n_items": 30, "n_predicted": 30, "n_missing": 0, "missing": []}
    items = version_items(version=version).set_index("item")
    for rule in ("majority", "plurality", "dawid_skene"):
        truth = items[f"{rule}.label"].astype(object)
        keep = truth.notna().to_numpy()
        expected = skm.f1_score(
            truth[keep].astype(str), answers["label"][keep], average="macro", zero_division=0
        )
        part = scores["rules"][rule]
        assert part["n"] == int(keep.sum())
        assert part["macro_f1"]["estimate"] == pytest.approx(expected)
        assert part["macro_f1"]["low"] <= expected <= part["macro_f1"]["high"]
    assert scores["headline"]["metric"] == "macro_f1"
    assert scores["headline"]["rule"] == "plurality"
    # The all-inclusive sets are scored as multi-label (a one-label answer is a set of one).
    assert 0 < scores["rules"]["all_inclusive"]["macro"]["estimate"] <= 1
    # Item attributes: the speaker of each item, with the largest gap between speakers.
    speakers = scores["groups"]["item_attributes"]["speaker"]
    assert set(speakers["values"]) == {f"s{i}" for i in range(10)}


def test_probabilities_add_soft_label_scores_and_calibration(version, researcher):
    items = version_items(version=version)
    rows = []
    for key in items["item"]:
        rows.append({"item": str(key), "probs": [0.5, 0.3, 0.2]})
    text = "\n".join(json.dumps(r) for r in rows)
    run = upload(version, researcher, text, file_name="p.jsonl")
    soft = run.scores["rules"]["soft"]
    truth = items[[f"soft.p.{c}" for c in CATEGORIES]].to_numpy()
    q = np.tile([0.5, 0.3, 0.2], (len(items), 1))
    assert soft["total_variation"] == pytest.approx(0.5 * np.abs(truth - q).sum(axis=1).mean())
    assert 0 <= soft["ece"] <= 1
    # The label is the arg max of the probabilities.
    assert set(Prediction.objects.values_list("label", flat=True)) == {"joy"}


def test_probability_columns_per_category(version, researcher):
    items = version_items(version=version)
    frame = pd.DataFrame({"item": items["item"].astype(str)})
    frame["p.joy"], frame["p.anger"], frame["p.sadness"] = 0.2, 0.7, 0.1
    run = upload(version, researcher, frame.to_csv(index=False))
    assert Prediction.objects.filter(run=run).first().probs == [0.2, 0.7, 0.1]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("item,label\ni00,joy\nzz,joy\nyy,anger\n", "2 item(s) are not in version 1: 'zz', 'yy'."),
        ("item,label\ni00,fear\n", "Row 1: 'fear' is not a category of item 'i00'"),
        ("item,guess\ni00,joy\n", "Unknown column 'guess'"),
        ("item,label\ni00,joy\ni00,anger\n", "Row 2: item 'i00' is given twice."),
        (
            '{"item": "i00", "probs": [0.5, 0.4, 0.3]}',
            "Row 1: the probabilities sum to 1.2, not 1.",
        ),
        ('{"item": "i00", "probs": [0.5, 0.5]}', "Row 1: probs must give 3 numbers"),
        ("label\njoy\n", "The file needs an 'item' column."),
        ("item,p.fear\ni00,1\n", "p.fear: 'fear' is not a category."),
        ("item,label\ni00,\n", "Row 1: item 'i00' has no answer."),
    ],
)
def test_bad_files_are_refused_and_nothing_is_stored(version, researcher, text, message):
    file_name = "p.jsonl" if text.startswith("{") else "p.csv"
    with pytest.raises(ValidationError) as info:
        upload(version, researcher, text, file_name=file_name)
    assert message in info.value.message_dict["file"][0]
    assert Run.objects.count() == 0 and Prediction.objects.count() == 0


def test_missing_items_are_counted_and_reported(version, researcher):
    run = upload(version, researcher, "item,label\ni00,joy\ni01,anger\n")
    report = run.scores["report"]
    assert (report["n_predicted"], report["n_missing"]) == (2, 28)
    assert report["missing"][:3] == ["i02", "i03", "i04"]


def test_a_run_name_is_unique_within_a_version(version, researcher):
    upload(version, researcher, "item,label\ni00,joy\n")
    with pytest.raises(ValidationError) as info:
        upload(version, researcher, "item,label\ni00,joy\n")
    assert "already has a run 'model-a'" in info.value.message_dict["name"][0]


def test_huge_cells_and_deep_json_are_refused_by_the_shared_input_limits(
    version, researcher, settings
):
    settings.IMPORT_CSV_FIELD_MAX_CHARS = 50
    settings.JSON_MAX_DEPTH = 8
    with pytest.raises(ValidationError) as info:
        upload(version, researcher, "item,label\ni00," + "j" * 60 + "\n")
    assert (
        "Line 2, column 'label': a value of 60 characters; the limit is 50."
        in (info.value.message_dict["file"][0])
    )
    deep = '{"item": "i00", "label": "joy", "probs": ' + "[" * 20 + "]" * 20 + "}"
    with pytest.raises(ValidationError) as info:
        upload(version, researcher, deep, file_name="p.jsonl")
    assert info.value.message_dict["file"] == ["Line 1: nested more than 8 levels deep."]
    with pytest.raises(ValidationError) as info:
        upload(version, researcher, "item,label\ni00,joy,extra\n")
    assert info.value.message_dict["file"] == ["Line 2: more cells than columns."]
    assert Run.objects.count() == 0
