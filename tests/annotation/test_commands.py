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


def test_create_a_project_add_members_adjudicate_and_exclude(study, researcher, tmp_path, outsider):
    from annotation.models import Adjudication, Exclusion, Project
    from tests.accounts.factories import UserFactory

    schema = tmp_path / "schema.json"
    schema.write_text(
        json.dumps(
            {
                "name": "Shell project",
                "mode": "single",
                "categories": [{"key": "yes", "name": "Yes"}, {"key": "no", "name": "No"}],
                "raters_per_item": 2,
            }
        )
    )
    created = json.loads(
        run("annotation_create_project", "--study", str(study.id), "--user", researcher.username,
            str(schema))
    )  # fmt: skip
    project_id = str(created["project"])
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"name": "x", "categories": [], "colour": "red"}))
    with pytest.raises(CommandError) as err:
        run(
            "annotation_create_project",
            "--study",
            str(study.id),
            "--user",
            researcher.username,
            str(bad),
        )
    assert json.loads(str(err.value)) == {"colour": ["Unknown field."]}
    bad.write_text(json.dumps({"name": "x", "categories": []}))
    with pytest.raises(CommandError) as err:
        run("annotation_create_project", "--study", str(study.id), "--user", researcher.username,
            str(bad))  # fmt: skip
    assert json.loads(str(err.value)) == {"categories": ["At least one category is required."]}
    with pytest.raises(CommandError, match="not a member"):
        run("annotation_create_project", "--study", str(study.id), "--user", outsider.username,
            str(schema))  # fmt: skip
    assert Project.objects.count() == 1

    project = Project.objects.get(pk=created["project"])
    for name in ("ana", "ben", "judge"):
        UserFactory(username=name)
    for name, role in (("ana", "annotator"), ("ben", "annotator"), ("judge", "adjudicator")):
        out = json.loads(run("annotation_member", "--project", project_id, "--user", name,
                             "--role", role, "--group", "g1"))  # fmt: skip
        assert out == {"user": name, "role": role, "group": "g1"}
    Item.objects.create(
        project=project, external_id="q1", kind="text", text="Is it?", slots_total=2
    )
    for name, label in (("ana", "yes"), ("ben", "no")):
        lease = json.loads(run("annotation_next", "--project", project_id, "--user", name))
        run("annotation_submit", "--project", project_id, "--user", name,
            "--item", str(lease["item"]), "--label", label)  # fmt: skip
    queue = json.loads(run("annotation_adjudicate", "--project", project_id, "--user", "judge"))
    assert queue == [{"item": "q1", "labels": [["no", 1], ["yes", 1]]}]
    with pytest.raises(CommandError, match="may not adjudicate"):
        run("annotation_adjudicate", "--project", project_id, "--user", "ana")
    decided = json.loads(
        run("annotation_adjudicate", "--project", project_id, "--user", "judge", "--item", "q1",
            "--label", "yes", "--note", "Context says yes")
    )  # fmt: skip
    assert decided["labels"] == [{"category": "yes", "role": "primary"}]
    assert Adjudication.objects.get().note == "Context says yes"

    with pytest.raises(CommandError) as err:
        run(
            "annotation_exclude",
            "--project",
            project_id,
            "--user",
            "ben",
            "--by",
            researcher.username,
        )
    assert json.loads(str(err.value)) == {"reason": ["Give a reason for the exclusion."]}
    out = json.loads(run("annotation_exclude", "--project", project_id, "--user", "ben",
                         "--by", researcher.username, "--reason", "Too fast"))  # fmt: skip
    assert out["active"] is True
    out = json.loads(run("annotation_exclude", "--project", project_id, "--user", "ben",
                         "--by", researcher.username, "--lift"))  # fmt: skip
    assert out["active"] is False
    assert Exclusion.objects.get().reason == "Too fast"
