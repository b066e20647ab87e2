"""Writes of the benchmarks app, by topic: datasets, sources, builds, exports, the card.

The public names are gathered here so callers write ``from benchmarks.services import ...``.
"""

from benchmarks.services.build import (
    rule_labels,
    version_build,
    version_build_start,
    version_diff,
)
from benchmarks.services.datasets import PARAMETERS, STRATIFY_CHOICES, dataset_create
from benchmarks.services.exports import (
    EXPORT_FORMATS,
    version_export,
    version_export_files,
    version_export_start,
    version_export_write,
)
from benchmarks.services.sources import (
    UPLOAD_FORMATS,
    read_vote_file,
    source_annotation_create,
    source_ref,
    source_survey_create,
    source_upload_create,
    validate_vote_table,
)
from benchmarks.services.tables import BuildError, code_version, parquet_bytes

__all__ = [
    "EXPORT_FORMATS",
    "PARAMETERS",
    "STRATIFY_CHOICES",
    "UPLOAD_FORMATS",
    "BuildError",
    "code_version",
    "dataset_create",
    "parquet_bytes",
    "read_vote_file",
    "rule_labels",
    "source_annotation_create",
    "source_ref",
    "source_survey_create",
    "source_upload_create",
    "validate_vote_table",
    "version_build",
    "version_build_start",
    "version_diff",
    "version_export",
    "version_export_files",
    "version_export_start",
    "version_export_write",
]
