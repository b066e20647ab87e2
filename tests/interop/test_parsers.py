"""Each importer on a small export written from the tool's documented format: the exact vote
table, items, suggestions and report it yields, the lossy cases included; bad files refused
whole, naming the record at fault.

Formats: Label Studio "Export formats" and "Task format" guides (JSON, JSON_MIN, CSV);
doccano's export pipeline (one JSONL per user, ``all.jsonl`` for collaborative projects);
Argilla 2.x ``records.to_datasets`` / ``Dataset.to_hub`` (flattened ``q.responses`` columns);
POTATO's ``annotation_output/<user>/user_state.json`` and ``annotated_instances.jsonl``;
Prodigy's ``db-out`` JSONL.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from interop.parsers import Input, Limits, ParseError, parse

FIXTURES = Path(__file__).parent / "fixtures"


def files(*names: str, base: Path = FIXTURES) -> list[Input]:
    return [Input.from_path(base / n, name=n) for n in names]


def rows(df: pd.DataFrame, columns=("item", "voter", "label")) -> list[tuple]:
    return [tuple(str(v) for v in r) for r in df[list(columns)].itertuples(index=False)]


def report(parsed) -> list[tuple]:
    return [
        (r.record, r.item, r.voter, r.votes, r.status, r.note)
        for r in parsed.report.itertuples(index=False)
    ]


def test_label_studio_json():
    parsed = parse("label-studio", files("label-studio.json"))
    assert rows(parsed.votes) == [
        ("1", "1", "Positive"),
        ("1", "bo@example.org", "Negative"),
        ("2", "1", "Negative"),
        ("2", "3", "Negative"),
        ("2", "3", "Neutral"),
    ]
    assert set(parsed.votes["weight"]) == {1.0} and set(parsed.votes["role"]) == {"primary"}
    items = parsed.items.set_index("item")
    assert items.loc["1", "text"] == "The food was great"
    assert items.loc["2", "gold"] == "Negative"  # the ground-truth annotation
    assert pd.isna(items.loc["1", "gold"])
    assert items.loc["2", "source"] == "yelp"
    assert set(items["source_tool"]) == {"label-studio"}
    assert "3" not in items.index  # no vote, no item
    assert rows(parsed.suggestions, ("item", "agent", "label", "score")) == [
        ("1", "sentiment-v1", "Positive", "0.91")
    ]
    assert report(parsed) == [
        (1, "1", "1", 1, "ok", ""),
        (1, "1", "bo@example.org", 1, "ok",
         "textarea answers are not labels (kept in the raw file)"),
        (1, "1", "3", 0, "skipped", "cancelled annotation: not a vote"),
        (2, "2", "1", 1, "ok", "ground truth: also the item's gold label"),
        (2, "2", "3", 2, "ok", ""),
        (2, "2", "2", 0, "no votes",
         "labels regions are not item labels (kept in the raw file); no label in this annotation"),
        (3, "3", "", 0, "no votes", "no annotation"),
    ]  # fmt: skip


@pytest.mark.parametrize("name", ["label-studio-min.json", "label-studio.csv"])
def test_label_studio_json_min_and_csv(name):
    parsed = parse("label-studio", files(name), field="sentiment")
    assert rows(parsed.votes) == [
        ("1", "ann@example.org", "Positive"),
        ("1", "bo@example.org", "Negative"),
        ("1", "bo@example.org", "Neutral"),
        ("2", "ann@example.org", "Negative"),
    ]
    assert parsed.items.set_index("item").loc["2", "text"] == "Service was slow"
    assert [r[3:5] for r in report(parsed)] == [
        (1, "ok"), (2, "ok"), (1, "ok"), (0, "no votes")
    ]  # fmt: skip


def test_label_studio_json_min_needs_the_label_column():
    with pytest.raises(ParseError, match=r"name it \(one of: text, sentiment\)"):
        parse("label-studio", files("label-studio-min.json"))


def test_doccano_one_file_per_user():
    parsed = parse("doccano", files("doccano/alice.jsonl", "doccano/bob.jsonl"))
    assert rows(parsed.votes) == [
        ("1", "alice", "positive"),
        ("1", "bob", "negative"),
        ("2", "alice", "angry"),
        ("2", "alice", "negative"),
    ]
    assert report(parsed) == [
        (1, "1", "alice", 1, "ok", ""),
        (2, "2", "alice", 2, "ok", ""),
        (3, "3", "alice", 0, "no votes", "no label"),
        (1, "1", "bob", 1, "ok", ""),
        (2, "2", "bob", 0, "no votes",
         "1 span(s) are not item labels (kept in the raw file); no label"),
    ]  # fmt: skip
    assert parsed.items["item"].tolist() == ["1", "2"]


def test_doccano_zip_as_doccano_hands_it_out():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for n in ("alice", "bob"):
            archive.write(FIXTURES / "doccano" / f"{n}.jsonl", f"{n}.jsonl")
    parsed = parse("doccano", [Input.from_bytes("project.zip", buffer.getvalue())])
    assert len(parsed.votes) == 4


def test_doccano_collaborative_file_is_refused_with_the_reason():
    with pytest.raises(ParseError, match="loses who gave which") as exc:
        parse("doccano", files("doccano/alice.jsonl", "doccano/all.jsonl"))
    assert "collaborative" in str(exc.value)


def test_argilla_jsonl():
    parsed = parse("argilla", files("argilla.jsonl"))
    assert rows(parsed.votes) == [
        ("r1", "5f0c", "positive"),
        ("r1", "77aa", "negative"),
        ("r2", "5f0c", "negative"),
    ]
    assert report(parsed) == [
        (1, "r1", "5f0c", 1, "ok", ""),
        (1, "r1", "77aa", 1, "ok", ""),
        (1, "r1", "91de", 0, "skipped", "sentiment: a draft response is not a vote"),
        (2, "r2", "5f0c", 1, "ok", ""),
        (2, "r2", "77aa", 0, "skipped", "sentiment: a discarded response is not a vote"),
    ]
    assert rows(parsed.suggestions, ("item", "agent", "label", "score")) == [
        ("r1", "zero-shot", "positive", "0.8")
    ]
    assert parsed.items.set_index("item").loc["r1", "lang"] == "en"


def test_argilla_parquet_with_class_labels():
    # The Hub's Parquet: a label question's suggestion stored as class numbers, named by the
    # features the datasets library writes into the file's metadata.
    table = pa.table(
        {
            "id": ["r1"],
            "text": ["Hi"],
            "label.suggestion": [1],
            "label.responses": [["yes", "no"]],
            "label.responses.users": [["u1", "u2"]],
            "label.responses.status": [["submitted", "submitted"]],
        }
    )
    features = {
        "info": {"features": {"label.suggestion": {"_type": "ClassLabel", "names": ["no", "yes"]}}}
    }
    table = table.replace_schema_metadata({b"huggingface": json.dumps(features).encode()})
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    parsed = parse("argilla", [Input.from_bytes("train-00000.parquet", buffer.getvalue())])
    assert rows(parsed.votes) == [("r1", "u1", "yes"), ("r1", "u2", "no")]
    assert parsed.suggestions["label"].tolist() == ["yes"]


def test_potato_annotation_output():
    base = FIXTURES / "potato"
    parsed = parse(
        "potato",
        files(
            "annotation_output/alice/user_state.json",
            "annotation_output/bob/user_state.json",
            "annotation_output/carol/annotated_instances.jsonl",
            base=base,
        ),
    )
    assert rows(parsed.votes) == [
        ("i1", "alice", "positive"),
        ("i1", "bob", "negative"),
        ("i2", "alice", "negative"),
        ("i2", "carol", "negative"),
    ]
    assert report(parsed)[1] == (
        2, "i2", "alice", 1, "ok", "1 free-text answer(s) are not labels (kept in the raw file)"
    )  # fmt: skip
    assert report(parsed)[2][5] == "spans are not item labels (kept in the raw file)"
    assert parsed.items.set_index("item").loc["i2", "text"] == "Slow service"
    assert any("survey phase" in n for n in parsed.notes)


def test_prodigy_db_out():
    parsed = parse("prodigy", files("prodigy.jsonl"))
    assert rows(parsed.votes) == [
        ("1103", "reviews-alex", "POS"),
        ("1103", "reviews-sam", "NEG"),
        ("1104", "reviews-sam", "NEG"),
    ]
    assert [r[3:] for r in report(parsed)] == [
        (1, "ok", ""),
        (1, "ok", ""),
        (0, "skipped", "ignored: not a vote"),
        (1, "ok", ""),
        (0, "no votes", "a rejected choice task: no vote"),
    ]
    assert parsed.items.set_index("item").loc["1104", "text"] == "Awful screen"


def test_prodigy_binary_answers_are_accept_or_reject_under_their_label():
    lines = [
        {
            "text": "a",
            "label": "SPORTS",
            "answer": "accept",
            "_input_hash": 1,
            "_annotator_id": "x",
        },
        {
            "text": "a",
            "label": "SPORTS",
            "answer": "reject",
            "_input_hash": 1,
            "_annotator_id": "y",
        },
        {
            "text": "a",
            "label": "POLITICS",
            "answer": "accept",
            "_input_hash": 1,
            "_annotator_id": "y",
        },
    ]
    data = "".join(json.dumps(line) + "\n" for line in lines).encode()
    parsed = parse("prodigy", [Input.from_bytes("db.jsonl", data)], field="SPORTS")
    assert rows(parsed.votes) == [("1", "x", "accept"), ("1", "y", "reject")]
    assert parsed.report["status"].tolist() == ["ok", "ok", "other field"]
    with pytest.raises(ParseError, match=r"several names \(POLITICS, SPORTS\)"):
        parse("prodigy", [Input.from_bytes("db.jsonl", data)])


def test_a_rater_answering_twice_keeps_the_last_answer():
    lines = [
        {"text": "a", "label": "S", "answer": "accept", "_input_hash": 1, "_annotator_id": "x"},
        {"text": "a", "label": "S", "answer": "reject", "_input_hash": 1, "_annotator_id": "x"},
    ]
    data = "".join(json.dumps(line) + "\n" for line in lines).encode()
    parsed = parse("prodigy", [Input.from_bytes("db.jsonl", data)])
    assert rows(parsed.votes) == [("1", "x", "reject")]
    assert parsed.report["status"].tolist() == ["replaced", "ok"]


# --- bad files: nothing comes out, and the message names the record ---------------------------


def test_wrong_tool_is_refused():
    with pytest.raises(ParseError, match=r"alice.jsonl: not a Label Studio JSON export"):
        parse("label-studio", files("doccano/alice.jsonl"))
    with pytest.raises(ParseError, match=r"prodigy.jsonl, line 1: not a doccano example"):
        parse("doccano", files("prodigy.jsonl"))
    with pytest.raises(ParseError, match=r"label-studio.json, line 1: not JSON"):
        parse("prodigy", files("label-studio.json"))
    with pytest.raises(ParseError, match=r"argilla.jsonl, line 1: not a Prodigy answer"):
        parse("prodigy", files("argilla.jsonl"))


def test_truncated_json_is_refused_naming_the_record():
    data = (FIXTURES / "label-studio.json").read_bytes()
    cut = data[: data.index(b'"id": 2,\n') + 30]
    with pytest.raises(ParseError, match=r"export.json, record 2: the JSON ends early"):
        parse("label-studio", [Input.from_bytes("export.json", cut)])


def test_truncated_json_lines_are_refused_naming_the_line():
    data = (FIXTURES / "prodigy.jsonl").read_bytes()
    with pytest.raises(ParseError, match=r"db.jsonl, line 5: not JSON"):
        parse("prodigy", [Input.from_bytes("db.jsonl", data[:-40])])


@pytest.mark.parametrize(
    ("tool", "name", "content", "message"),
    [
        (
            "label-studio",
            "export.json",
            [{"id": 7, "data": {"text": "x"}, "annotations": [{"result": []}]}],
            r"export.json, record 1 \(task 7\), annotation 1: no rater",
        ),
        (
            "prodigy",
            "db.jsonl",
            {"text": "x", "answer": "accept", "label": "A", "_input_hash": 9},
            r"db.jsonl, line 1 \(input 9\): no rater",
        ),
        (
            "argilla",
            "records.jsonl",
            {"id": "r9", "text": "x", "q.responses": ["a", "b"], "q.responses.users": ["u1"]},
            r"records.jsonl, record 1 \(record r9\): q has 2 response\(s\) but 1 user",
        ),
    ],
)
def test_a_record_with_no_rater_is_refused(tool, name, content, message):
    data = json.dumps(content).encode() + b"\n"
    with pytest.raises(ParseError, match=message):
        parse(tool, [Input.from_bytes(name, data)])


def test_size_limits_are_checked_before_reading():
    with pytest.raises(ParseError, match="at most 100 per import"):
        parse(
            "prodigy",
            files("prodigy.jsonl"),
            limits=Limits(max_bytes=100),
        )
    with pytest.raises(ParseError, match="more than 2 records"):
        parse("prodigy", files("prodigy.jsonl"), limits=Limits(max_records=2))


def test_json_array_is_read_in_chunks(monkeypatch):
    # Records cut across chunk ends (numbers included) read the same as in one piece: the
    # record-by-record reader behind Argilla's JSON lists, POTATO's state files and any
    # Label Studio export the whole-file decoder refuses.
    from interop.parsers import common

    path = FIXTURES / "label-studio.json"
    monkeypatch.setattr(common, "CHUNK", 7)
    records = [r for _n, r in common.iter_json_array(Input.from_path(path), Limits())]
    assert records == json.loads(path.read_text())


def test_label_studio_reads_the_same_record_by_record(monkeypatch):
    from interop.parsers import label_studio

    whole = parse("label-studio", files("label-studio.json"))
    monkeypatch.setattr(label_studio, "_decode_whole", lambda f: None)
    by_record = parse("label-studio", files("label-studio.json"))
    pd.testing.assert_frame_equal(whole.votes, by_record.votes)
    pd.testing.assert_frame_equal(whole.items, by_record.items)
    pd.testing.assert_frame_equal(whole.report, by_record.report)
    pd.testing.assert_frame_equal(whole.suggestions, by_record.suggestions)


def test_a_csv_cell_beyond_the_shared_limit_is_refused():
    data = b"id,annotator,sentiment\n1,ann," + b"x" * 50 + b"\n"
    with pytest.raises(ParseError, match=r"ls.csv, row 2: a cell of 50 characters; at most 10"):
        parse(
            "label-studio",
            [Input.from_bytes("ls.csv", data)],
            field="sentiment",
            limits=Limits(cell_chars=10),
        )


def test_potato_output_folder_zipped_with_its_other_files():
    buffer = io.BytesIO()
    base = FIXTURES / "potato"
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(base.rglob("*")):
            if path.is_file():
                archive.write(path, str(path.relative_to(base)))
        archive.writestr("annotation_output/alice/annotation_history.jsonl", '{"action": "x"}\n')
        archive.writestr("annotation_output/task_assignment.json", "{}")
    parsed = parse("potato", [Input.from_bytes("annotation_output.zip", buffer.getvalue())])
    assert len(parsed.votes) == 4
    assert any("annotation_history.jsonl: not an annotator's labels" in n for n in parsed.notes)


def test_potato_without_any_annotator_file_is_refused():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("annotation_output/task_assignment.json", "{}")
    with pytest.raises(ParseError, match=r"no user_state\.json or annotated_instances\.jsonl"):
        parse("potato", [Input.from_bytes("out.zip", buffer.getvalue())])


def test_a_damaged_zip_is_refused():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("alice.jsonl", '{"id": 1, "text": "a", "label": ["x"]}\n' * 50)
    data = bytearray(buffer.getvalue())
    data[40:60] = b"\xff" * 20  # inside the compressed data
    with pytest.raises(ParseError, match=r"damaged zip|not JSON|not UTF-8"):
        parse("doccano", [Input.from_bytes("project.zip", bytes(data))])


def test_a_key_with_a_line_break_is_refused():
    line = {
        "text": "a",
        "label": "S",
        "answer": "accept",
        "_input_hash": 1,
        "_annotator_id": "x\ny",
    }
    with pytest.raises(ParseError, match=r"db.jsonl, line 1: the rater's key 'x\\ny' holds"):
        parse("prodigy", [Input.from_bytes("db.jsonl", json.dumps(line).encode())])
