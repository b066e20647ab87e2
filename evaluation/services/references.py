"""A dataset's pass mark: a set number, or the score a held-out human reaches."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from benchmarks.models import Dataset, Version
from benchmarks.selectors import version_contents, version_votes
from evaluation import metrics
from evaluation.models import ReferenceScore, ReferenceSource

METRICS = ("alignment", "macro_f1", "multilabel_macro_f1")
MIN_RATER_ITEMS = 5


@transaction.atomic
def reference_set(
    *,
    dataset: Dataset,
    metric: str,
    value: float,
    source: str = ReferenceSource.SET,
    note: str = "",
) -> ReferenceScore:
    if metric not in METRICS:
        raise ValidationError(
            {"metric": [_("Choose one of %(names)s.") % {"names": ", ".join(METRICS)}]}
        )
    if not isinstance(value, int | float) or not 0.0 <= float(value) <= 1.0:
        raise ValidationError({"value": [_("Give a number between 0 and 1.")]})
    reference, _created = ReferenceScore.objects.update_or_create(
        dataset=dataset,
        defaults={"metric": metric, "value": float(value), "source": source, "note": note[:500]},
    )
    return reference


def held_out_score(*, version: Version) -> dict[str, Any]:
    """The headline score of each voter held out against everyone else, and their median.

    Survey questions: a respondent's alignment is the share of the *other* respondents (by
    weight) who chose the respondent's option, averaged over their questions. Annotation
    items: a rater's macro-F1 against the plurality of the other raters' primary votes.
    """
    votes = version_votes(version=version).to_pandas()
    votes = votes[votes["role"].astype(str) == "primary"] if "role" in votes else votes
    votes["item"] = votes["item"].astype(str)
    votes["label"] = votes["label"].astype(str)
    contents = version_contents(version=version)
    is_survey = contents is not None and (contents["kind"] == "question").any()
    per_voter: list[float] = []
    if is_survey:
        totals = votes.drop_duplicates(["item", "voter"]).groupby("item")["weight"].sum()
        chosen = votes.groupby(["item", "label"])["weight"].sum()
        w = votes["weight"].to_numpy(dtype=np.float64)
        others_total = totals.reindex(votes["item"]).to_numpy() - w
        others_chose = (
            chosen.reindex(pd.MultiIndex.from_arrays([votes["item"], votes["label"]])).to_numpy()
            - w
        )
        with np.errstate(invalid="ignore", divide="ignore"):
            share = np.where(others_total > 0, others_chose / others_total, np.nan)
        per = pd.Series(share).groupby(votes["voter"].to_numpy()).mean().dropna()
        per_voter = per.tolist()
        metric = "alignment"
    else:
        cats = list(version.categories)
        metric = "macro_f1"
        for voter, mine in votes.groupby("voter"):
            if mine["item"].nunique() < MIN_RATER_ITEMS:
                continue
            others = votes[(votes["voter"] != voter) & votes["item"].isin(mine["item"])]
            counts = others.groupby(["item", "label"])["weight"].sum().unstack(fill_value=0.0)
            top = counts.max(axis=1)
            clear = counts.eq(top, axis=0).sum(axis=1) == 1
            truth = counts.idxmax(axis=1)[clear]
            own = mine.drop_duplicates("item").set_index("item")["label"]
            common = truth.index.intersection(own.index)
            if len(common) < MIN_RATER_ITEMS:
                continue
            t = pd.Index(cats).get_indexer(truth.loc[common])
            p = pd.Index(cats).get_indexer(own.loc[common])
            per_voter.append(metrics.classification(t, p, len(cats))["macro_f1"])
    if not per_voter:
        return {"metric": metric, "value": None, "n_voters": 0}
    return {
        "metric": metric,
        "value": float(np.median(per_voter)),
        "n_voters": len(per_voter),
    }


def reference_from_held_out(*, dataset: Dataset, version: Version) -> ReferenceScore:
    found = held_out_score(version=version)
    if found["value"] is None:
        raise ValidationError(
            {"source": [_("No voter has enough items to be held out against the others.")]}
        )
    return reference_set(
        dataset=dataset,
        metric=found["metric"],
        value=round(found["value"], 6),
        source=ReferenceSource.HELD_OUT,
        note=f"Median over {found['n_voters']} held-out voters of version {version.number}.",
    )
