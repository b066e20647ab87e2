"""Scores of a run's predictions against a frozen version, every rule side by side.

- **Rules side by side**: single-label scores (accuracy, macro/micro/weighted F1, per-class
  precision and recall, confusion matrix) against the majority, plurality and Dawid-Skene
  labels; multi-label F1 against the all-inclusive label sets (a label is on above 1/C, for
  the truth shares and the model's probabilities alike); soft-label distances and calibration
  against the soft labels when the model gave probabilities.
- **Survey questions**: the alignment score (the share of people who chose the model's
  option), representativeness and Jensen-Shannon similarity when the model gave
  probabilities, accuracy by subject for questions with a key, and all of it per group of
  respondents (each stratum variable of the votes): whose answers the model sides with.
- **Annotation items**: the same single-label scores per rater group (against that group's
  plurality) and per item attribute (against the plurality of all), with the largest gap
  between the values of each as a bias report.

Every headline number has a seeded bootstrap 95% interval (items resampled, 1,000 times).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from benchmarks.models import Version
from benchmarks.selectors import (
    version_contents,
    version_items,
    version_vote_columns,
    version_votes,
)
from benchmarks.services.tables import json_safe
from evaluation import metrics
from evaluation.models import Prediction, Run
from sources import schema

N_BOOT = 1000
SEED = 0
SINGLE_RULES = ("majority", "plurality", "dawid_skene")
# A group needs this many items to be ranked in a bias report.
MIN_GROUP_ITEMS = 5
# Vote columns that are not respondent or rater attributes.
NOT_GROUPS = {"item", "voter", "label", "weight", "role", "split", "created", "seconds"}
MAX_GROUP_VALUES = 50


def _ci(interval: metrics.Interval) -> dict[str, float]:
    return interval.as_dict()


def _isin(values: pd.Series, keys: pd.Series) -> np.ndarray:
    """Which ``values`` are among ``keys`` (both text), by Arrow's hash lookup: pandas'
    ``isin`` on Arrow-backed text took seconds on 200,000 keys."""
    found = pc.is_in(
        pa.array(values.astype(str), pa.string()), value_set=pa.array(keys.astype(str), pa.string())
    )
    return np.asarray(found.to_numpy(zero_copy_only=False), dtype=bool)


def _codes(values: pd.Series, names: list[str]) -> np.ndarray:
    """Positions of ``values`` in ``names`` (-1 where missing or unknown)."""
    return np.asarray(pd.Index(names).get_indexer(pd.Index(values.astype(object))), dtype=np.int64)


def _single_label(truth: np.ndarray, pred: np.ndarray, n_classes: int) -> dict[str, Any]:
    keep = (truth >= 0) & (pred >= 0)
    if not keep.any():
        return {"n": 0}
    t, p = truth[keep], pred[keep]
    out = metrics.classification(t, p, n_classes)
    out["n"] = int(keep.sum())
    for name in ("accuracy", "macro_f1"):
        out[name] = _ci(
            metrics.bootstrap_classification(t, p, n_classes, metric=name, n_boot=N_BOOT, seed=SEED)
        )
    return out


def _probs_matrix(predictions: pd.DataFrame, n: int) -> np.ndarray | None:
    rows = predictions["probs"].tolist()
    if not rows or any(r is None or len(r) != n for r in rows):
        return None
    return np.asarray(rows, dtype=np.float64)


def _category_part(
    items: pd.DataFrame, predictions: pd.DataFrame, version: Version
) -> dict[str, Any]:
    cats = list(version.categories)
    c = len(cats)
    joined = items.merge(predictions, on="item", how="inner")
    pred = _codes(joined["label"], cats)
    rules: dict[str, Any] = {}
    for rule in SINGLE_RULES:
        if f"{rule}.label" in joined.columns:
            rules[rule] = _single_label(_codes(joined[f"{rule}.label"], cats), pred, c)
    probs = _probs_matrix(joined, c)
    if "all_inclusive" in version.rules:
        truth_p = joined[[f"all_inclusive.p.{x}" for x in cats]].to_numpy(dtype=np.float64)
        voted = np.isfinite(truth_p).all(axis=1)
        if probs is not None:
            model = probs
        else:
            model = np.zeros((len(joined), c))
            single = _codes(joined["label"], cats)
            rows = np.flatnonzero(single >= 0)
            model[rows, single[rows]] = 1.0
            # Label sets replace the single label where a row has one.
            for i in np.flatnonzero(joined["labels"].notna().to_numpy()):
                model[i] = 0.0
                for x in joined["labels"].iloc[i]:
                    if x in cats:
                        model[i, cats.index(x)] = 1.0
        if voted.any():
            t_on = truth_p[voted] > 1.0 / c
            s_on = model[voted] > 1.0 / c
            result = metrics.multilabel_f1(truth_p[voted], model[voted])
            result["n"] = int(voted.sum())
            result["macro"] = _ci(
                metrics.bootstrap_multilabel(t_on, s_on, n_boot=N_BOOT, seed=SEED)
            )
            result["micro"] = _ci(
                metrics.bootstrap_multilabel(t_on, s_on, average="micro", n_boot=N_BOOT, seed=SEED)
            )
            rules["all_inclusive"] = result
    if probs is not None and "soft" in version.rules:
        truth_p = joined[[f"soft.p.{x}" for x in cats]].to_numpy(dtype=np.float64)
        voted = np.isfinite(truth_p).all(axis=1)
        soft = metrics.soft_scores(truth_p[voted], probs[voted])
        plural = _codes(joined["plurality.label"], cats) if "plurality.label" in joined else None
        if plural is not None and (plural >= 0).any():
            keep = plural >= 0
            soft["ece"] = metrics.expected_calibration_error(probs[keep], plural[keep])
        soft["n"] = int(voted.sum())
        rules["soft"] = soft
    return rules


def _question_part(
    contents: pd.DataFrame, predictions: pd.DataFrame, version: Version
) -> dict[str, Any] | None:
    questions = contents[contents["kind"] == "question"]
    if not len(questions) or "distribution" not in questions.columns:
        return None
    joined = questions.merge(predictions, on="item", how="inner")
    joined = joined[joined["distribution"].notna()]
    if not len(joined):
        return {"n": 0}
    align, repr_, js, chosen_codes = [], [], [], []
    row: Any
    for row in joined.itertuples(index=False):
        options = [str(o) for o in row.options]
        dist = np.asarray(row.distribution, dtype=np.float64)
        choice = options.index(row.label) if row.label in options else -1
        chosen_codes.append(row.label)
        align.append(float(dist[choice]) if choice >= 0 else 0.0)
        if row.probs is not None and len(row.probs) == len(options) and dist.sum() > 0:
            people = (dist / dist.sum())[None]
            model = np.asarray(row.probs, dtype=np.float64)[None]
            repr_.append(float(metrics.representativeness(model, people)))
            js.append(float(metrics.js_similarity(model, people)))
    out: dict[str, Any] = {
        "n": len(joined),
        "alignment": _ci(metrics.bootstrap_mean(align, n_boot=N_BOOT, seed=SEED)),
    }
    if len(repr_) == len(joined):
        out["representativeness"] = _ci(metrics.bootstrap_mean(repr_, n_boot=N_BOOT, seed=SEED))
        out["js_similarity"] = _ci(metrics.bootstrap_mean(js, n_boot=N_BOOT, seed=SEED))
    if "answer_key" in joined.columns:
        keyed = joined[joined["answer_key"].notna() & (joined["answer_key"] != "")]
        if len(keyed):
            subjects = keyed["subject"].fillna("").astype(str) if "subject" in keyed else None
            out["accuracy_by_subject"] = metrics.accuracy_by_subject(
                keyed["label"].astype(str).to_numpy(),
                keyed["answer_key"].astype(str).to_numpy(),
                list(subjects) if subjects is not None else [""] * len(keyed),
            )
    out["groups"] = _respondent_groups(joined, version)
    return out


def _group_columns(votes: pd.DataFrame) -> list[str]:
    cols = []
    for col in votes.columns:
        if col in NOT_GROUPS:
            continue
        n_values = votes[col].nunique(dropna=True)
        if 1 < n_values <= MAX_GROUP_VALUES:
            cols.append(col)
    return cols


def _respondent_groups(joined: pd.DataFrame, version: Version) -> dict[str, Any]:
    """Per group of respondents: the alignment (and representativeness) of the model with the
    group's own weighted answer distribution on each question."""
    votes = version_votes(version=version).to_pandas()
    votes = votes[_isin(votes["item"], joined["item"])]
    if not len(votes):
        return {}
    votes["item"] = votes["item"].astype(str)
    votes["label"] = votes["label"].astype(str)
    by_item: dict[str, Any] = {str(r.item): r for r in joined.itertuples(index=False)}
    out: dict[str, Any] = {}
    for col in _group_columns(votes):
        values: dict[str, Any] = {}
        per_item: dict[str, tuple[list[str], list[float]]] = {}
        for value, part in votes.groupby(votes[col].astype(str), sort=True):
            # Weight of each respondent once per item, and of each chosen option.
            people = part.drop_duplicates(["item", "voter"]).groupby("item")["weight"].sum()
            chosen = part.groupby(["item", "label"])["weight"].sum()
            align, repr_ = [], []
            asked: list[str] = []
            for item, total in people.items():
                row = by_item[item]
                if total <= 0:
                    continue
                asked.append(str(item))
                options = [str(o) for o in row.options]
                shares = np.array([chosen.get((item, o), 0.0) for o in options]) / total
                align.append(
                    float(shares[options.index(row.label)]) if row.label in options else 0.0
                )
                if row.probs is not None and len(row.probs) == len(options) and shares.sum() > 0:
                    repr_.append(
                        metrics.representativeness(
                            np.asarray(row.probs, dtype=np.float64)[None],
                            (shares / shares.sum())[None],
                        )
                    )
            if not align:
                continue
            entry: dict[str, Any] = {
                "n_items": len(align),
                "n_people": int(part["voter"].nunique()),
                "alignment": _ci(metrics.bootstrap_mean(align, n_boot=N_BOOT, seed=SEED)),
            }
            if len(repr_) == len(align):
                entry["representativeness"] = _ci(
                    metrics.bootstrap_mean(repr_, n_boot=N_BOOT, seed=SEED)
                )
            values[str(value)] = entry
            per_item[str(value)] = (asked, align)
        if len(values) > 1:
            out[col] = {"values": values, **_gap(values, "alignment", _mean_gap(per_item))}
    return out


GapInterval = Callable[[str, str], metrics.Interval]


def _gap(
    values: dict[str, Any], metric: str, interval: GapInterval | None = None
) -> dict[str, Any]:
    """The largest difference between two values' estimates (those with enough items), with
    its bootstrap interval when ``interval(highest, lowest)`` gives one."""
    ranked = {
        k: v[metric]["estimate"]
        for k, v in values.items()
        if v.get("n_items", 0) >= MIN_GROUP_ITEMS and metric in v
    }
    if len(ranked) < 2:
        return {"largest_gap": None}
    best = max(ranked, key=ranked.__getitem__)
    worst = min(ranked, key=ranked.__getitem__)
    gap: dict[str, Any] = {
        "metric": metric,
        "gap": ranked[best] - ranked[worst],
        "highest": best,
        "lowest": worst,
    }
    if interval is not None:
        ci = interval(best, worst)
        gap["low"], gap["high"] = ci.low, ci.high
    return {"largest_gap": gap}


def _classification_gap(
    arrays: dict[str, tuple[np.ndarray, np.ndarray]], n_classes: int, metric: str
) -> GapInterval:
    """The gap's interval for groups scored on their own items (each resampled on its own)."""

    def interval(best: str, worst: str) -> metrics.Interval:
        (ta, pa_), (tb, pb) = arrays[best], arrays[worst]
        return metrics.bootstrap_difference_classification(
            ta, pa_, tb, pb, n_classes, metric=metric, n_boot=N_BOOT, seed=SEED
        )

    return interval


def _mean_gap(per_item: dict[str, tuple[list[str], list[float]]]) -> GapInterval:
    """The gap's interval for groups of respondents: paired over the questions when both
    groups answered the same ones, each resampled on its own otherwise."""

    def interval(best: str, worst: str) -> metrics.Interval:
        (items_a, a), (items_b, b) = per_item[best], per_item[worst]
        return metrics.bootstrap_mean_difference(
            a, b, paired=items_a == items_b, n_boot=N_BOOT, seed=SEED
        )

    return interval


def _kept(truth: np.ndarray, pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    keep = (truth >= 0) & (pred >= 0)
    return truth[keep], pred[keep]


def _plurality(votes: pd.DataFrame, cats: list[str]) -> pd.Series:
    """The plurality label per item of a set of primary votes (ties dropped)."""
    counts = votes.groupby(["item", "label"])["weight"].sum().unstack(fill_value=0)
    top = counts.max(axis=1)
    winners = counts.eq(top, axis=0).sum(axis=1)
    labels = counts.idxmax(axis=1)
    return labels[winners == 1]


def _group_scores(
    truths: Iterable[tuple[Any, pd.Series]], pred_by_item: pd.Series, cats: list[str]
) -> dict[str, Any] | None:
    """Macro-F1 and the rest per group (its truth per item against the predictions), with the
    gap between the best and the worst; None when fewer than two groups have scored items."""
    c = len(cats)
    values: dict[str, dict[str, Any]] = {}
    arrays: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for value, truth in truths:
        common = truth.index.intersection(pred_by_item.index)
        if not len(common):
            continue
        t, p = _kept(_codes(truth.loc[common], cats), _codes(pred_by_item.loc[common], cats))
        scored = _single_label(t, p, c)
        scored["n_items"] = scored.pop("n")
        if scored["n_items"]:
            values[str(value)] = scored
            arrays[str(value)] = (t, p)
    if len(values) < 2:
        return None
    return {
        "values": values,
        **_gap(values, "macro_f1", _classification_gap(arrays, c, "macro_f1")),
    }


def _annotation_groups(
    items: pd.DataFrame, contents: pd.DataFrame | None, predictions: pd.DataFrame, version: Version
) -> dict[str, Any]:
    cats = list(version.categories)
    pred_by_item = predictions.set_index("item")["label"]
    out: dict[str, Any] = {"rater_groups": {}, "item_attributes": {}}
    item_level = set(version.stats.get("item_columns", []))
    # Only the columns that can be rater attributes are read: the votes are the largest table.
    candidates = [
        col
        for col in version_vote_columns(version=version)
        if col not in NOT_GROUPS and col not in item_level
    ]
    if candidates:
        votes = version_votes(
            version=version, columns=["item", "label", "weight", "role", *candidates]
        ).to_pandas()
        votes["item"] = votes["item"].astype(str)
        votes["label"] = votes["label"].astype(str)
        primary = votes[votes["role"].astype(str) == "primary"]
    else:
        primary = pd.DataFrame(columns=["item", "label", "weight", "role"])
    # Rater attributes: vote columns that are not about the item (the annotator group, or any
    # column an uploaded vote table carries per voter).
    for col in _group_columns(primary):
        if col in item_level:
            continue
        truths = (
            (value, _plurality(part, cats))
            for value, part in primary.groupby(primary[col].astype(str), sort=True)
        )
        scored = _group_scores(truths, pred_by_item, cats)
        if scored is not None:
            out["rater_groups"][col] = scored
    attributes = items.set_index("item")
    meta: list[str] = []
    if contents is not None:
        # The item table's metadata (country, year, speaker gender...), whatever its dtype.
        meta = [m for m in schema.metadata_columns(contents.columns) if m not in attributes]
        attributes = attributes.join(contents.set_index("item")[meta], how="left")
    item_cols = [
        col
        for col in dict.fromkeys([*version.stats.get("item_columns", []), *meta])
        if col in attributes.columns and col not in NOT_GROUPS
    ]
    if "plurality.label" not in attributes.columns:
        return out
    for col in dict.fromkeys(item_cols):
        series = attributes[col].dropna().astype(str)
        if not 1 < series.nunique() <= MAX_GROUP_VALUES:
            continue
        truths = (
            (value, attributes.loc[pd.Index(keys), "plurality.label"])
            for value, keys in series.groupby(series).groups.items()
        )
        scored = _group_scores(truths, pred_by_item, cats)
        if scored is not None:
            out["item_attributes"][col] = scored
    return out


def score_predictions(*, version: Version, predictions: pd.DataFrame) -> dict[str, Any]:
    """Every score of the module docstring, as JSON-ready values."""
    items = version_items(version=version)
    items["item"] = items["item"].astype(str)
    contents = version_contents(version=version)
    if contents is not None:
        contents["item"] = contents["item"].astype(str)
    predictions = predictions.copy()
    predictions["item"] = predictions["item"].astype(str)
    scores: dict[str, Any] = {
        "n_items": len(items),
        "n_predicted": int(_isin(predictions["item"], items["item"]).sum()),
    }
    question_part = None
    if contents is not None and (contents["kind"] == "question").any():
        question_part = _question_part(contents, predictions, version)
    if question_part is not None:
        scores["survey"] = question_part
    scores["rules"] = _category_part(items, predictions, version)
    if question_part is None:
        scores["groups"] = _annotation_groups(items, contents, predictions, version)
    scores["headline"] = _headline(scores)
    return json_safe(scores)


def _headline(scores: dict[str, Any]) -> dict[str, Any] | None:
    survey = scores.get("survey") or {}
    if "alignment" in survey:
        return {"metric": "alignment", "rule": "survey", **survey["alignment"]}
    for rule in ("plurality", "majority", "dawid_skene"):
        part = scores["rules"].get(rule) or {}
        if part.get("n"):
            return {"metric": "macro_f1", "rule": rule, **part["macro_f1"]}
    part = scores["rules"].get("all_inclusive") or {}
    if part.get("n"):
        return {"metric": "multilabel_macro_f1", "rule": "all_inclusive", **part["macro"]}
    return None


def predictions_frame(run: Run) -> pd.DataFrame:
    rows = list(
        Prediction.objects.filter(run=run, error="").values_list("item", "label", "labels", "probs")
    )
    return pd.DataFrame(rows, columns=["item", "label", "labels", "probs"]).replace({"": None})


def run_rescore(*, run: Run) -> Run:
    """Score a run again from its stored predictions (after an endpoint run, for example)."""
    report = (run.scores or {}).get("report")
    run.scores = score_predictions(version=run.version, predictions=predictions_frame(run))
    if report:
        run.scores["report"] = report
    Run.objects.filter(pk=run.pk).update(scores=run.scores)
    return run
