"""``manage.py convert_labels``: files in, votes.csv and items.csv out, the database untouched."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from tests.interop.test_parsers import FIXTURES


def read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_convert_label_studio(tmp_path):
    # No django_db mark: any query would fail the test.
    call_command(
        "convert_labels", "--from", "label-studio", str(FIXTURES / "label-studio.json"),
        "--out", str(tmp_path),
    )  # fmt: skip
    votes = read(tmp_path / "votes.csv")
    assert [(v["item"], v["voter"], v["label"], v["weight"], v["role"]) for v in votes] == [
        ("1", "1", "Positive", "1.0", "primary"),
        ("1", "bo@example.org", "Negative", "1.0", "primary"),
        ("2", "1", "Negative", "1.0", "primary"),
        ("2", "3", "Negative", "1.0", "primary"),
        ("2", "3", "Neutral", "1.0", "primary"),
    ]
    items = read(tmp_path / "items.csv")
    assert [(i["item"], i["text"], i["gold"]) for i in items] == [
        ("1", "The food was great", ""),
        ("2", "Service was slow", "Negative"),
    ]
    assert len(read(tmp_path / "report.csv")) == 7
    assert read(tmp_path / "suggestions.csv")[0]["agent"] == "sentiment-v1"


def test_votes_csv_goes_straight_into_aggregate(tmp_path):
    call_command(
        "convert_labels", "--from", "doccano", str(FIXTURES / "doccano" / "alice.jsonl"),
        str(FIXTURES / "doccano" / "bob.jsonl"), "--out", str(tmp_path),
    )  # fmt: skip
    call_command(
        "aggregate", str(tmp_path / "votes.csv"), "--categories", "positive,negative,angry",
        "--out", str(tmp_path / "labels.csv"),
    )  # fmt: skip
    assert (tmp_path / "labels.csv").exists()


def test_bad_file_writes_nothing(tmp_path):
    out = tmp_path / "out"
    with pytest.raises(CommandError, match=r"Nothing converted: .*all\.jsonl"):
        call_command(
            "convert_labels", "--from", "doccano", str(FIXTURES / "doccano" / "all.jsonl"),
            "--out", str(out),
        )  # fmt: skip
    assert not out.exists()
