"""Labels written by Chorus in a tool's import format and read back give the same vote table."""

from __future__ import annotations

import pandas as pd
import pytest

from interop import writers
from interop.parsers import Input, parse

VOTES = pd.DataFrame(
    [
        ("a1", "v01", "joy", "primary"),
        ("a1", "v02", "anger", "primary"),
        ("a1", "v02", "sadness", "secondary"),  # the tools have no secondary labels
        ("a1", "v03", "joy", "primary"),
        ("a2", "v01", "기쁨", "primary"),
        ("a2", "v02", "joy", "primary"),
        ("a2", "v02", "anger", "primary"),  # two primary labels: a multi-label answer
        ("b7", "v03", "anger", "primary"),
    ],
    columns=["item", "voter", "label", "role"],
).assign(weight=1.0)
ITEMS = pd.DataFrame(
    {"item": ["a1", "a2", "b7"], "kind": "text", "text": ["Hello", "안녕하세요", "Bye"]}
)
EXPECTED = [
    ("a1", "v01", "joy"),
    ("a1", "v02", "anger"),
    ("a1", "v03", "joy"),
    ("a2", "v01", "기쁨"),
    ("a2", "v02", "anger"),
    ("a2", "v02", "joy"),
    ("b7", "v03", "anger"),
]


@pytest.mark.parametrize("tool", sorted(writers.WRITERS))
def test_round_trip(tool):
    write, name = writers.WRITERS[tool]
    data = write(VOTES, ITEMS)
    parsed = parse(tool, [Input.from_bytes(name, data)])
    got = [tuple(r) for r in parsed.votes[["item", "voter", "label"]].itertuples(index=False)]
    assert got == EXPECTED
    assert set(parsed.votes["role"]) == {"primary"}
    texts = dict(zip(parsed.items["item"], parsed.items["text"], strict=True))
    if tool != "potato":  # POTATO's state files hold no item text
        assert texts == {"a1": "Hello", "a2": "안녕하세요", "b7": "Bye"}
