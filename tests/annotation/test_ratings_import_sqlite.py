"""The ratings import in the embedded mode (SQLite), as `make run` uses it.

The suite runs on PostgreSQL, so this test starts a separate process on a fresh SQLite file:
migrate, a project with two items, then the import (ORM writes instead of COPY) through the
management command, a repeat (nothing changes) and a bad file (nothing written); then the
metadata keys, the expert sample and erasing a rater, which take other paths on SQLite.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.conftest import REPO

SCRIPT = r"""
import io, json
import django
django.setup()
from django.core.exceptions import ValidationError
from django.core.management import call_command
from accounts.models import User
from accounts.services import study_create
from annotation.models import ImportedRating, Item, ProjectMember
from annotation.selectors import project_progress, project_vote_table
from annotation.services import items_import, project_create, ratings_import

call_command("migrate", verbosity=0)
owner = User.objects.create(username="owner")
study = study_create(user=owner, name="Embedded")
project = project_create(
    study=study, user=owner, name="Emotions", mode="primary_secondary",
    categories=[{"key": k} for k in ("joy", "anger", "fear")], raters_per_item=2,
)
items_import(
    project=project, data=b"external_id,text,speaker\nt00,A,s1\nt01,B,s2\n", filename="i.csv"
)
text = (
    "item,rater,label,role,created,time_ms\n"
    "t00,ext-1,joy,primary,2026-03-01T10:00:00Z,1200\n"
    "t00,ext-1,fear,secondary,2026-03-01T10:00:00Z,1200\n"
    "t00,ext-2,anger,,,\n"
    "t01,ext-1,joy,,2026-03-02 08:30:00,\n"
)
out = {"first": ratings_import(project=project, source=io.BytesIO(text.encode()))}
out["again"] = ratings_import(project=project, source=io.BytesIO(text.encode()))
try:
    ratings_import(project=project, source=io.BytesIO(b"item,rater,label\nt01,ext-2,rage\n"))
except ValidationError as exc:
    out["bad"] = exc.message_dict
out["rows"] = sorted(
    [r.item.external_id, r.rater.username, r.category.key, r.role, r.time_ms,
     r.created_at.isoformat() if r.item.external_id == "t01" else None]
    for r in ImportedRating.objects.select_related("item", "rater", "category")
)
out["slots"] = list(Item.objects.order_by("external_id").values_list("slots_taken", flat=True))
out["members"] = sorted(ProjectMember.objects.values_list("user__username", flat=True))
out["active"] = list(User.objects.filter(username="ext-1").values_list("is_active", flat=True))
out["votes"] = len(project_vote_table(project=project))
out["done"] = project_progress(project=project)["ratings_done"]
from annotation.selectors import item_metadata_keys
from annotation.services import expert_sample_set, rater_erase
out["keys"] = item_metadata_keys(project=project)
out["expert"] = expert_sample_set(
    project=project, experts_per_item=1, sample_rate=1, stratify_by="speaker"
)
out["erased"] = rater_erase(user=User.objects.get(username="ext-2"))
out["slots_after"] = list(
    Item.objects.order_by("external_id").values_list("slots_taken", flat=True)
)
print(json.dumps(out))
"""


def test_ratings_import_on_sqlite(tmp_path):
    env = {
        **{k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"},
        "DATABASE_URL": f"sqlite:///{tmp_path / 'embedded.sqlite3'}",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "MEDIA_ROOT": str(tmp_path / "media"),
    }
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=REPO, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["first"] == {
        "rows": 4, "answers": 3, "labels": 4, "skipped_rows": 0, "new_raters": 2
    }  # fmt: skip
    assert out["again"] == {
        "rows": 4, "answers": 0, "labels": 0, "skipped_rows": 4, "new_raters": 0
    }  # fmt: skip
    assert out["bad"] == {"label": ["Unknown category(ies): rage."]}
    assert out["rows"] == [
        ["t00", "ext-1", "fear", "secondary", 1200, None],
        ["t00", "ext-1", "joy", "primary", 1200, None],
        ["t00", "ext-2", "anger", "primary", None, None],
        ["t01", "ext-1", "joy", "primary", None, "2026-03-02T08:30:00+00:00"],
    ]
    assert out["slots"] == [2, 1]
    assert out["members"] == ["ext-1", "ext-2"]
    assert out["active"] == [False]
    assert (out["votes"], out["done"]) == (4, 3)
    # The embedded mode also reads metadata keys, draws the expert sample and erases a rater.
    assert (out["keys"], out["expert"]) == (["speaker"], 2)
    assert out["erased"] == {"assignments": 0, "answers": 0, "imported_labels": 1}
    assert out["slots_after"] == [1, 1]
