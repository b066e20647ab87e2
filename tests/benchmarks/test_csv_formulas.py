"""Formula injection: the CSV files of a version export escape text cells, not numbers."""

from __future__ import annotations

import csv
import io

import pandas as pd
import pyarrow as pa
import pytest

from benchmarks.services import source_upload_create, version_build, version_export_files
from benchmarks.services.exports import _csv_bytes
from tests.benchmarks.factories import parquet_bytes

pytestmark = pytest.mark.django_db

# One item per dangerous first character, a key that is just a (negative) number, a plain one.
ITEMS = ["=1+1", "+cmd", "-cmd", "@SUM(A1)", "\ttab", "\rcr", "-1.5", "ok"]
ESCAPED = ["'=1+1", "'+cmd", "'-cmd", "'@SUM(A1)", "'\ttab", "'\rcr", "-1.5", "ok"]
LINK = '=HYPERLINK("https://evil.example/","x")'


@pytest.fixture
def version(dataset, researcher):
    votes = pd.DataFrame(
        {
            "item": [k for k in ITEMS for _ in range(2)],
            "voter": [f"person-{v}" for _ in ITEMS for v in (1, 2)],
            "label": "joy",
            "weight": 1.0,
            "role": "primary",
            "speaker": LINK,
            "valence": "-0.5",
        }
    )
    source_upload_create(dataset=dataset, file_name="votes.parquet", content=parquet_bytes(votes))
    return version_build(dataset=dataset, user=researcher)


def rows(content: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(content.decode(), newline="")))


def test_vote_and_item_csv_escape_text_cells_but_not_numbers(version):
    files = version_export_files(version=version, only="csv")
    votes = rows(files["votes.csv"])
    assert len(votes) == 16
    assert sorted({r["item"] for r in votes}) == sorted(ESCAPED)
    assert {r["speaker"] for r in votes} == {"'" + LINK}
    # Metadata is text by contract; text that is only a number is read as that number.
    assert {r["valence"] for r in votes} == {"-0.5"}
    assert {r["weight"] for r in votes} == {"1"}
    items = rows(files["items.csv"])
    assert sorted(r["item"] for r in items) == sorted(ESCAPED)
    # Nothing in either file starts with a formula character but the numbers.
    for table in (votes, items):
        for row in table:
            for name, value in row.items():
                if value[:1] in ("=", "+", "-", "@", "\t", "\r") and value not in ("-1.5", "-0.5"):
                    pytest.fail(f"{name}={value!r} is not escaped")


def test_raw_export_leaves_the_cells_as_they_were(version):
    files = version_export_files(version=version, only="csv", formula_escape=False)
    votes = rows(files["votes.csv"])
    assert sorted({r["item"] for r in votes}) == sorted(ITEMS)
    assert {r["speaker"] for r in votes} == {LINK}
    # The other formats are never escaped.
    parquet = version_export_files(version=version, only="parquet")
    frame = pd.read_parquet(io.BytesIO(parquet["votes.parquet"]))
    assert sorted(frame["item"].unique()) == sorted(ITEMS)


def test_csv_writer_leaves_numeric_list_and_null_cells_alone():
    table = pa.table(
        {
            "text": pa.array(["-2+3", "@x", None, "=y"], pa.string()),
            "large": pa.array(["+z", "ok", "\tz", None], pa.large_string()),
            "coded": pa.array(["=a", "b", "=a", "b"]).dictionary_encode(),
            "number": pa.array([-1.5, 2.0, None, -3.25]),
            "count": pa.array([-2, 0, 5, -7], pa.int64()),
            "soft": pa.array([[-0.5, 1.5], None, [], [0.25]], pa.list_(pa.float64())),
            "=head": pa.array([1, 2, 3, 4]),
        }
    )
    assert _csv_bytes(table).decode().splitlines() == [
        '"text","large","coded","number","count","soft","\'=head"',
        '"\'-2+3","\'+z","\'=a",-1.5,-2,"[-0.5, 1.5]",1',
        '"\'@x","ok","b",2,0,,2',
        ',"\'\tz","\'=a",,5,"[]",3',
        '"\'=y",,"b",-3.25,-7,"[0.25]",4',
    ]
    assert _csv_bytes(table, formula_escape=False).decode().splitlines()[1] == (
        '"-2+3","+z","=a",-1.5,-2,"[-0.5, 1.5]",1'
    )


def _zip_votes(job) -> list[dict[str, str]]:
    import zipfile

    job.refresh_from_db()
    assert job.status == "succeeded", job.message
    with zipfile.ZipFile(job.result_file.open("rb")) as archive:
        return rows(archive.read("votes.csv"))


def test_raw_export_from_the_page_and_the_api(
    client, api_as, version, researcher, django_capture_on_commit_callbacks
):
    from jobs.models import Job

    base = f"datasets/{version.dataset_id}/versions/{version.number}/export"
    client.force_login(researcher)
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(f"/benchmarks/{base}/").status_code == 302
        assert client.post(f"/benchmarks/{base}/", {"raw": "1"}).status_code == 302
    escaped, raw = Job.objects.order_by("created_at")
    assert (escaped.params["raw"], raw.params["raw"]) == (False, True)
    assert "'=1+1" in {r["item"] for r in _zip_votes(escaped)}
    assert "=1+1" in {r["item"] for r in _zip_votes(raw)}
    api = api_as(researcher)
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"/api/benchmarks/{base}s/", {"raw": True}, format="json")
    assert response.status_code == 202
    assert Job.objects.get(pk=response.json()["id"]).params["raw"] is True
    refused = api.post(f"/api/benchmarks/{base}s/", {"raw": "maybe"}, format="json")
    assert refused.status_code == 400
    assert list(refused.json()["errors"]) == ["raw"]


def test_commands_escape_unless_raw(version, tmp_path):
    from django.core.management import call_command

    dataset = str(version.dataset_id)
    call_command("export_version", dataset, "--format", "csv", "--out", str(tmp_path / "a"))
    call_command(
        "export_version", dataset, "--format", "csv", "--out", str(tmp_path / "b"), "--raw"
    )
    escaped = rows((tmp_path / "a" / "votes.csv").read_bytes())
    raw = rows((tmp_path / "b" / "votes.csv").read_bytes())
    assert sorted({r["item"] for r in escaped}) == sorted(ESCAPED)
    assert sorted({r["item"] for r in raw}) == sorted(ITEMS)

    src = tmp_path / "votes.parquet"
    src.write_bytes(
        parquet_bytes(pd.DataFrame({"item": ["=x", "=x", "ok"], "voter": ["a", "b", "a"],
                                    "label": ["joy", "joy", "anger"]}))
    )  # fmt: skip
    for name, extra in (("out.csv", ()), ("raw.csv", ("--raw",))):
        call_command(
            "aggregate", str(src), "--categories", "joy,anger", "--rules", "majority",
            "--out", str(tmp_path / name), *extra,
        )  # fmt: skip
    assert [r["item"] for r in rows((tmp_path / "out.csv").read_bytes())] == ["'=x", "ok"]
    assert [r["item"] for r in rows((tmp_path / "raw.csv").read_bytes())] == ["=x", "ok"]
