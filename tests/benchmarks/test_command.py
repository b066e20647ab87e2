"""``manage.py aggregate``: a vote table file in, the wide table out, clear errors."""

from __future__ import annotations

import pandas as pd
import pytest
from django.core.management import CommandError, call_command

from tests.benchmarks.factories import vote_frame

VOTES = pd.DataFrame(
    {
        "item": ["a", "a", "a", "b", "b"],
        "voter": ["v1", "v2", "v3", "v1", "v2"],
        "label": ["joy", "joy", "anger", "joy", "anger"],
    }
)


@pytest.mark.parametrize("suffix", ["csv", "jsonl", "parquet"])
def test_aggregate_writes_every_rule_side_by_side(tmp_path, suffix, capsys):
    src = tmp_path / "votes.csv"
    VOTES.to_csv(src, index=False)
    out = tmp_path / f"out.{suffix}"
    call_command(
        "aggregate", str(src), "--categories", "joy,anger", "--rules", "majority,plurality",
        "--out", str(out),
    )  # fmt: skip
    if suffix == "csv":
        table = pd.read_csv(out)
    elif suffix == "jsonl":
        table = pd.read_json(out, lines=True)
    else:
        table = pd.read_parquet(out)
    assert list(table["item"]) == ["a", "b"]
    assert table["majority.label"].iloc[0] == "joy"
    assert pd.isna(table["majority.label"].iloc[1])
    assert list(table["plurality.tie"]) == [False, True]
    assert "majority: kept 1, data loss 50.0%" in capsys.readouterr().out


def test_aggregate_reads_jsonl_and_parquet_input(tmp_path):
    for suffix in ("jsonl", "parquet"):
        src = tmp_path / f"votes.{suffix}"
        if suffix == "jsonl":
            vote_frame().to_json(src, orient="records", lines=True)
        else:
            vote_frame().to_parquet(src, index=False)
        out = tmp_path / f"from-{suffix}.csv"
        call_command("aggregate", str(src), "--categories", "joy,anger,sadness", "--out", str(out))
        assert len(pd.read_csv(out)) == 30


@pytest.mark.parametrize(
    ("rows", "args", "message"),
    [
        ("item,voter,label\na,v,fear\n", [], "label: 'fear' is not one of the categories"),
        ("item,voter,label\n", [], "votes: the vote table is empty"),
        ("item,label\na,joy\n", [], "votes: missing column(s) 'voter'"),
        ("item,voter,label,weight\na,v,joy,x\n", [], "weight: 'x' is not a number."),
        ("item,voter,label\na,v,joy\n", ["--rules", "median"], "rules: unknown rule 'median'"),
    ],
)
def test_aggregate_names_the_problem(tmp_path, rows, args, message):
    src = tmp_path / "votes.csv"
    src.write_text(rows)
    out = tmp_path / "out.csv"
    with pytest.raises(CommandError) as info:
        call_command("aggregate", str(src), "--categories", "joy,anger", "--out", str(out), *args)
    assert message in str(info.value)
    assert not out.exists()


def test_aggregate_refuses_unknown_formats(tmp_path):
    with pytest.raises(CommandError, match=r"must be a \.csv, \.jsonl or \.parquet file"):
        call_command("aggregate", "votes.xlsx", "--categories", "a", "--out", "o.csv")
    with pytest.raises(CommandError, match=r"--out o\.txt: write to a \.csv, \.jsonl or \.parquet"):
        call_command("aggregate", "votes.csv", "--categories", "a", "--out", "o.txt")
    with pytest.raises(CommandError, match="no such file"):
        call_command("aggregate", str(tmp_path / "none.csv"), "--categories", "a", "--out", "o.csv")
