"""The annotation app as a source of votes and items (see :mod:`sources`).

Votes are the project's ratings (:func:`annotation.selectors.project_vote_table`), optionally
narrowed to items whose metadata match a filter and to some label roles; items are the
project's texts and audio clips with their gold label and metadata. The app also lends the
agreement statistic that dataset cards report (:func:`dataset_agreement`). Both are
registered in :meth:`annotation.apps.AnnotationConfig.ready`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import IO, Any

import numpy as np
import pandas as pd
from django.core.files.storage import default_storage
from django.db.models import Count, Q

from annotation import agreement, selectors
from annotation.models import Category, Item, LabelMode, Project
from sources import schema
from sources.registry import SourceRef, SourceUnavailable

MODES: dict[str, str] = {
    LabelMode.SINGLE: "one label per rating (single-label)",
    LabelMode.PRIMARY_SECONDARY: "a primary label and optional secondary labels per rating",
    LabelMode.MULTI_LABEL: "any number of labels per rating (multi-label, with an explicit 'none')",
}


def _wanted(value: Any) -> list[str]:
    return [str(v) for v in (value if isinstance(value, list) else [value])]


def filter_votes(df: pd.DataFrame, item_filter: Mapping[str, Any] | None) -> pd.DataFrame:
    """Keep the votes whose column (item metadata, usually) has one of the wanted values."""
    for column, wanted in (item_filter or {}).items():
        if column not in df.columns:
            raise SourceUnavailable(f"filter: the vote table has no column {column!r}")
        df = df[df[column].astype("string").isin(_wanted(wanted))]
    return df


def _text(value: Any) -> str:
    """A metadata value as text, written as PostgreSQL's ``->>`` writes it (null as "")."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def dataset_agreement(
    votes: pd.DataFrame, *, boot: int, seed: int, categories: Sequence[str]
) -> dict[str, Any] | None:
    """Agreement for the dataset card: nominal alpha, or per-label alpha for multi-label votes.

    A rater who chose several primary labels for one item (a multi-label schema) has no single
    value for alpha; each label is then measured as its own present/absent variable.
    ``votes`` carries integer codes; a label code is its index in ``categories``. Registered
    as the measure ``agreement`` (see :func:`sources.registry.measure`).
    """
    primary = votes[votes["role"] == "primary"] if "role" in votes.columns else votes
    if primary.duplicated(["item", "voter"]).any():
        table = agreement.per_label_alpha(votes)
        ordered = table.sort_values("label")
        return {
            "measure": "per_label_alpha",
            "n_items": int(table["n_items"].iloc[0]) if len(table) else 0,
            "per_label": [
                {
                    "label": categories[int(label)],
                    "alpha": None if pd.isna(alpha) else round(float(alpha), 6),
                    "prevalence": None if pd.isna(prevalence) else round(float(prevalence), 6),
                }
                for label, alpha, prevalence in zip(
                    ordered["label"].tolist(),
                    ordered["alpha"].tolist(),
                    ordered["prevalence"].tolist(),
                    strict=True,
                )
            ],
        }
    try:
        result = agreement.krippendorff_alpha_bootstrap(
            votes,
            level="nominal",
            rng=np.random.default_rng(seed) if boot else None,
            n_boot=boot,
        )
    except ValueError as exc:
        return {"error": str(exc)}
    data = result.as_dict()
    data["measure"] = "krippendorff_alpha"
    return data


class AnnotationSource:
    kind = "annotation"

    def _project(self, ref: SourceRef) -> Project:
        project = (
            Project.objects.filter(pk=ref.object_id, study_id=ref.study_id).first()
            if ref.object_id is not None
            else None
        )
        if project is None:
            raise SourceUnavailable("No such annotation project in this study.")
        return project

    def choices(self, *, study_id: int) -> list[tuple[int, str]]:
        return self.choices_by_study(study_ids=[study_id]).get(study_id, [])

    def choices_by_study(self, *, study_ids: list[int]) -> dict[int, list[tuple[int, str]]]:
        rows = (
            Project.objects.filter(study_id__in=study_ids)
            .order_by("id")
            .values_list("study_id", "pk", "name")
        )
        out: dict[int, list[tuple[int, str]]] = {}
        for study_id, pk, name in rows:
            out.setdefault(study_id, []).append((pk, str(name)))
        return out

    def check(self, *, ref: SourceRef) -> None:
        self._project(ref)

    def vote_table(self, *, ref: SourceRef) -> pd.DataFrame:
        project = self._project(ref)
        df = selectors.project_vote_table(project=project)
        df = filter_votes(df, ref.options.get("item_filter"))
        roles = list(ref.options.get("roles") or [])
        if roles and "role" in df.columns:
            df = df[df["role"].isin(roles)]
        return schema.vote_frame(df)

    def item_table(self, *, ref: SourceRef) -> pd.DataFrame:
        """One row per item of the project (narrowed by the item filter), metadata as text.

        Two queries whatever the size: the items' fields as tuples, then the category keys.
        A metadata key that is also a content column of :mod:`sources.schema` ("text",
        "duration"...) is not repeated as metadata.
        """
        project = self._project(ref)
        rows = list(
            Item.objects.filter(project=project)
            .order_by("id")
            .values_list(
                "external_id",
                "kind",
                "text",
                "media",
                "media_type",
                "duration",
                "is_gold",
                "gold_label_id",
                "metadata",
            )
        )
        keys = dict(Category.objects.filter(project=project).values_list("id", "key"))
        n = len(rows)
        metadata: dict[str, list[str | None]] = {}
        for i, row in enumerate(rows):
            meta = row[8]
            if not isinstance(meta, dict):
                continue
            for key, value in meta.items():
                metadata.setdefault(str(key), [None] * n)[i] = _text(value)
        table = pd.DataFrame(
            {
                "item": [r[0] for r in rows],
                "kind": [r[1] for r in rows],
                "text": [r[2] or None for r in rows],
                "audio": [r[3] or None for r in rows],
                "audio_type": [(r[4] or None) if r[3] else None for r in rows],
                "duration": [r[5] for r in rows],
                "gold": [keys.get(r[7]) if r[6] and r[7] else None for r in rows],
            }
        )
        keep = np.ones(n, dtype=bool)
        for column, wanted in (ref.options.get("item_filter") or {}).items():
            if column == "item":
                values = table["item"]
            elif column in metadata:
                values = pd.Series(metadata[column], dtype=object)
            elif column in selectors.VOTE_COLUMNS:
                # A rater's column (group, role...): it narrows votes, not items. Items left
                # without a vote are not part of a dataset anyway.
                continue
            else:
                raise SourceUnavailable(f"filter: the vote table has no column {column!r}")
            keep &= values.isin(_wanted(wanted)).to_numpy()
        for key in sorted(metadata):
            if not schema.is_content_column(key):
                table[key] = metadata[key]
        return schema.item_frame(table[keep])

    def open_media(self, *, ref: SourceRef, name: str) -> IO[bytes]:
        """The media file ``name``, only if it is the media of an item of this project."""
        project = self._project(ref)
        if not name or not Item.objects.filter(project=project, media=name).exists():
            raise SourceUnavailable(f"annotation: {name!r} is not a media file of this project")
        return default_storage.open(name, "rb")

    def describe(self, *, ref: SourceRef) -> dict[str, Any]:
        project = self._project(ref)
        counts = Item.objects.filter(project=project).aggregate(
            items=Count("id"),
            gold=Count("id", filter=Q(is_gold=True)),
            expert=Count("id", filter=Q(expert_slots_total__gt=0)),
        )
        k = project.raters_per_item
        mode = MODES.get(project.mode, project.get_mode_display())
        items = counts["items"]
        design = (
            f"Annotation project: {k} rater{'' if k == 1 else 's'} per item, {mode}; "
            f"{items:,} item{'' if items == 1 else 's'}"
        )
        if counts["gold"]:
            g = counts["gold"]
            design += f" ({g:,} gold item{'' if g == 1 else 's'} among them, to check the raters)"
        design += "."
        if counts["expert"]:
            e = project.expert_raters_per_item
            design += (
                f" Experts rate a sample of {counts['expert']:,} items drawn at "
                f"{project.expert_sample_rate:.0%} of each stratum "
                f"({e} expert{'' if e == 1 else 's'} per item)."
            )
        return {"kind": self.kind, "name": project.name, "design": design}
