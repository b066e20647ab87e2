"""Voter pseudonyms: one keyed-hash scheme for every source and every export.

A person's key in a source's vote table is

    voter = hex(HMAC-SHA256(PSEUDONYM_KEY, "<namespace>:<id>"))[:32]

where the namespace names the kind of record (``survey-response`` with the response token,
``annotation-rater`` with the account id, ``upload`` with the uploaded key and the source). A
frozen dataset version then keys each voter by the dataset's own secret,

    voter_in_version = hex(HMAC-SHA256(dataset_key, voter))[:32],

so one person has unrelated keys in two datasets and the same key in every version of one.
``PSEUDONYM_KEY`` is a secret of its own (not ``SECRET_KEY``), so rotating the secret key that
signs sessions changes no voter key of any export.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable

import numpy as np
from django.conf import settings

HEX_CHARS = 32  # 128 bits


def keyed_hash(secret: bytes, value: str) -> str:
    return hmac.new(secret, value.encode(), hashlib.sha256).hexdigest()[:HEX_CHARS]


def _site_key() -> bytes:
    return str(settings.PSEUDONYM_KEY).encode()


def voter_key(namespace: str, value: object) -> str:
    """The source-level pseudonym of one person (see the module docstring)."""
    return keyed_hash(_site_key(), f"{namespace}:{value}")


def voter_keys(namespace: str, values: Iterable[object]) -> list[str]:
    secret = _site_key()
    return [keyed_hash(secret, f"{namespace}:{v}") for v in values]


def dataset_keys(keys: Iterable[object], *, secret: bytes) -> np.ndarray:
    """Each source key re-keyed with a dataset's secret, as an object array of hex strings."""
    return np.array([keyed_hash(secret, str(k)) for k in keys], dtype=object)
