"""The third kind of source: vote tables (and their items) uploaded to a dataset.

Registered in :meth:`benchmarks.apps.BenchmarksConfig.ready` like the survey and annotation
providers are in their apps. Uploaded voter keys are pseudonymised in the namespace ``upload``
like every other source's keys (see :mod:`sources.pseudonyms`).
"""

from __future__ import annotations

from typing import IO, Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from benchmarks.models import DatasetSource, SourceKind
from benchmarks.selectors import upload_vote_table
from sources import pseudonyms, schema
from sources.registry import SourceRef, SourceUnavailable


class UploadSource:
    kind = "upload"

    def _source(self, ref: SourceRef) -> DatasetSource:
        source = (
            DatasetSource.objects.filter(
                pk=ref.object_id, kind=SourceKind.UPLOAD, dataset__study_id=ref.study_id
            )
            .select_related("dataset")
            .first()
            if ref.object_id is not None
            else None
        )
        if source is None:
            raise SourceUnavailable(f"upload: no uploaded table {ref.object_id} in this study")
        return source

    def choices(self, *, study_id: int) -> list[tuple[int, str]]:
        # Uploads belong to one dataset; they are not linked to others.
        return []

    def choices_by_study(self, *, study_ids: list[int]) -> dict[int, list[tuple[int, str]]]:
        return {}

    def check(self, *, ref: SourceRef) -> None:
        self._source(ref)

    def vote_table(self, *, ref: SourceRef) -> pd.DataFrame:
        source = self._source(ref)
        df = upload_vote_table(source=source)
        codes, uniques = pd.factorize(df["voter"])
        # Arrow's take, not a numpy object array: no Python string per vote.
        keys = pa.array(pseudonyms.voter_keys("upload", uniques), pa.string())
        taken = keys.take(pa.array(codes))
        df["voter"] = pd.Series(pd.array(taken, dtype=schema.TEXT), index=df.index)
        return schema.vote_frame(df)

    def item_table(self, *, ref: SourceRef) -> pd.DataFrame:
        source = self._source(ref)
        if not source.items_file:
            return pd.DataFrame({"item": pd.Series([], dtype=schema.TEXT)})
        with source.items_file.open("rb") as fh:
            return pq.read_table(fh).to_pandas()

    def open_media(self, *, ref: SourceRef, name: str) -> IO[bytes]:
        raise SourceUnavailable("upload: uploaded items have no media files")

    def describe(self, *, ref: SourceRef) -> dict[str, Any]:
        source = self._source(ref)
        return {
            "kind": self.kind,
            "name": source.name,
            "design": (
                f"Uploaded vote table `{source.name}` ({source.n_votes} votes): collected "
                "outside Chorus; its sampling design is not recorded here."
            ),
        }
