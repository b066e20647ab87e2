"""Management commands: the same steps from a shell."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command

from annotation.models import Annotation, Item
from tests.annotation.factories import emotion_project, raters

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_import_next_submit_agreement_and_votes(study, researcher, tmp_path):
    project = emotion_project(study=study, user=researcher, k=2)
    items = tmp_path / "items.csv"
    items.write_text("external_id,text,region\na,Hello,north\nb,Bye,south\n")
    report = json.loads(run("annotation_import_items", "--project", str(project.id), str(items)))
    assert (report["ok"], report["created"]) == (True, 2)

    ana, ben = raters(project, 2)
    for user, label in ((ana, "joy"), (ben, "anger")):
        for _ in range(2):
            lease = json.loads(
                run("annotation_next", "--project", str(project.id), "--user", user.username)
            )
            run(
                "annotation_submit", "--project", str(project.id), "--user", user.username,
                "--item", str(lease["item"]), "--label", label, "--rating", "arousal=3",
            )  # fmt: skip
    assert run("annotation_next", "--project", str(project.id), "--user", "rater0") == "null\n"
    assert Annotation.objects.count() == 4

    (cy,) = raters(project, 1, prefix="cy")
    item = Item.objects.get(external_id="b")
    with pytest.raises(CommandError, match="This item is not assigned to you"):
        run(
            "annotation_submit", "--project", str(project.id), "--user", cy.username,
            "--item", str(item.id), "--label", "joy",
        )  # fmt: skip
    assert Annotation.objects.count() == 4

    agreement = json.loads(run("annotation_agreement", "--project", str(project.id), "--boot", "0"))
    assert (agreement["n_votes"], agreement["n_items"], agreement["alpha"]) == (4, 2, -0.5)
    votes = run("annotation_votes", "--project", str(project.id)).splitlines()
    assert votes[0] == "item,voter,label,weight,role,group,created,region"
    assert sorted(line.split(",")[2] for line in votes[1:]) == ["anger", "anger", "joy", "joy"]


def test_bad_item_file_fails_loudly(study, researcher, tmp_path):
    project = emotion_project(study=study, user=researcher)
    items = tmp_path / "items.csv"
    items.write_text("external_id,gold_label\na,rage\n")
    with pytest.raises(CommandError, match="Nothing was imported"):
        run("annotation_import_items", "--project", str(project.id), str(items))
    assert Item.objects.count() == 0
