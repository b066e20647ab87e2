"""Importing existing ratings with binary COPY: all or nothing, idempotent, k respected, and the
imported ratings counted wherever answers are (vote table, progress, quality, adjudication)."""

from __future__ import annotations

import io
import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, connections

from accounts.models import User
from annotation.models import Assignment, ImportedRating, Item, ProjectMember
from annotation.selectors import (
    adjudication_queue,
    annotator_table,
    item_labels_for_adjudication,
    label_count,
    label_distribution,
    project_progress,
    project_vote_table,
    voter_key,
)
from annotation.services import (
    adjudication_record,
    annotation_submit,
    assignment_next,
    exclusion_create,
    ratings_import,
)
from tests.accounts.factories import UserFactory
from tests.annotation.factories import emotion_project, policy_project, raters, text_items

pytestmark = pytest.mark.django_db

GOOD = (
    "item,rater,label,role,created,time_ms\n"
    "t00,ext-1,joy,primary,2026-03-01T10:00:00Z,1200\n"
    "t00,ext-1,fear,secondary,2026-03-01T10:00:00Z,1200\n"
    "t00,ext-2,anger,,2026-03-02T10:00:00Z,\n"
    "t01,ext-1,sadness,primary,,900\n"
)


def _needs_postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("COPY import needs PostgreSQL")


@pytest.fixture
def project(study, researcher):
    _needs_postgresql()
    project = emotion_project(study=study, user=researcher, k=2)
    text_items(project, 2)
    return project


def run(project, text: str):
    return ratings_import(project=project, source=io.BytesIO(text.encode()))


def _constraints() -> list[tuple[str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT contype, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = 'annotation_importedrating'::regclass ORDER BY 1, 2"
        )
        return cursor.fetchall()


def test_ratings_are_imported_and_again_changes_nothing(project):
    constraints = _constraints()
    report = run(project, GOOD)
    assert report == {"rows": 4, "answers": 3, "labels": 4, "skipped_rows": 0, "new_raters": 2}
    ext1 = User.objects.get(username="ext-1")
    assert (ext1.is_active, ext1.has_usable_password()) == (False, False)
    assert ProjectMember.objects.filter(project=project).count() == 2
    assert list(Item.objects.order_by("id").values_list("slots_taken", flat=True)) == [2, 1]
    votes = project_vote_table(project=project, timing=True)
    rows = sorted(
        votes[["item", "voter", "label", "role", "seconds"]]
        .fillna(-1)
        .itertuples(index=False, name=None)
    )
    k1, k2 = voter_key(ext1.pk), voter_key(User.objects.get(username="ext-2").pk)
    assert rows == sorted(
        [
            ("t00", k1, "joy", "primary", 1.2),
            ("t00", k1, "fear", "secondary", 1.2),
            ("t00", k2, "anger", "primary", -1),
            ("t01", k1, "sadness", "primary", 0.9),
        ]
    )
    joy = ImportedRating.objects.get(rater=ext1, item__external_id="t00", category__key="joy")
    assert (joy.time_ms, joy.role, joy.created_at.isoformat()) == (
        1200,
        "primary",
        "2026-03-01T10:00:00+00:00",
    )
    # The keys and foreign keys dropped for the load are back, unchanged.
    assert _constraints() == constraints
    again = run(project, GOOD)
    assert again == {"rows": 4, "answers": 0, "labels": 0, "skipped_rows": 4, "new_raters": 0}
    assert ImportedRating.objects.count() == 4
    assert list(Item.objects.order_by("id").values_list("slots_taken", flat=True)) == [2, 1]


def test_times_without_offset_are_utc_and_offsets_are_converted(project):
    run(
        project,
        "item,rater,label,created\n"
        "t00,a,joy,2026-03-01 10:00:00\n"
        "t01,a,joy,2026-03-01T19:00+09:00\n",
    )
    times = sorted(
        t.isoformat() for t in ImportedRating.objects.values_list("created_at", flat=True)
    )
    assert times == ["2026-03-01T10:00:00+00:00", "2026-03-01T10:00:00+00:00"]


def test_a_small_import_into_a_large_table_keeps_its_keys(project, researcher):
    """Below a quarter of the table the rows go through the live keys and foreign keys."""
    lines = ["item,rater,label"] + [f"t00,r{n},joy" for n in range(2)]
    run(project, "\n".join(lines) + "\n")
    many = emotion_project(study=project.study, user=researcher, k=50, name="Many")
    text_items(many, 2)
    run(many, "\n".join(["item,rater,label"] + [f"t00,m{n},joy" for n in range(40)]) + "\n")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE annotation_importedrating")
    report = run(many, "item,rater,label,role\nt01,m1,anger,primary\nt01,m1,joy,secondary\n")
    assert report["labels"] == 2
    assert ImportedRating.objects.count() == 44
    with pytest.raises(ValidationError):
        run(many, "item,rater,label\nt01,m2,joy\nt01,m3,rage\n")
    assert ImportedRating.objects.count() == 44


@pytest.mark.parametrize(
    ("text", "errors"),
    [
        ("item,rater,label\nt00,x,rage\n", {"label": ["Unknown category(ies): rage."]}),
        ("item,rater,label\nt09,x,joy\n", {"item": ["Unknown item(s): t09."]}),
        (
            "item,rater,label,role\nt00,x,joy,primary\nt00,x,fear,primary\n",
            {"role": ["Each rater needs exactly one primary label per item (item(s) t00)."]},
        ),
        (
            "item,rater,label,role\nt01,x,fear,secondary\n",
            {"role": ["Each rater needs exactly one primary label per item (item(s) t01)."]},
        ),
        (
            "item,rater,label\nt00,x,joy\nt00,y,joy\nt00,z,joy\n",
            {"item": ["More than k = 2 raters on: t00."]},
        ),
        ("item,who,label\nt00,x,joy\n", {"file": ["Unknown column(s): who."]}),
        ("item,label\nt00,joy\n", {"file": ["Missing column(s): rater."]}),
        ("item,rater,label,item\nt00,x,joy,t00\n", {"file": ["Repeated column(s): item."]}),
        ("item,rater,label\n", {"file": ["The file has no rows."]}),
        ("item,rater,label\nt00,,joy\n",
         {"rater": ["A rater is missing or longer than 150 characters."]}),
        ("item,rater,label,role\nt00,x,joy,main\n", {"role": ["Unknown role(s): main."]}),
        (
            "item,rater,label,role\nt00,x,joy,primary\nt00,x,fear,secondary\nt00,x,fear,secondary\n",
            {"label": ["A label is repeated by one rater on one item (item(s) t00)."]},
        ),
        (
            "item,rater,label,created\nt00,x,joy,2026-03-01\nt01,x,joy,yesterday\n",
            {"created": ["Not an ISO 8601 time on row(s) 3."]},
        ),
        (
            "item,rater,label,time_ms\nt00,x,joy,12.5\nt01,x,joy,-3\n",
            {"time_ms": ["Not a whole number of milliseconds between 0 and 2147483647 "
                         "on row(s) 2, 3."]},
        ),
        ("item,rater,label\nt00,x,joy,extra\n", None),
    ],
)  # fmt: skip
def test_bad_rating_files_import_nothing(project, text, errors):
    before = User.objects.count()
    with pytest.raises(ValidationError) as err:
        run(project, text)
    if errors is None:
        assert list(err.value.message_dict) == ["file"]
        assert "could not be read" in err.value.message_dict["file"][0]
    else:
        assert err.value.message_dict == errors
    assert ImportedRating.objects.count() == 0
    assert User.objects.count() == before
    assert list(Item.objects.values_list("slots_taken", flat=True)) == [0, 0]


def test_multi_label_projects_take_no_secondary_labels(study, researcher):
    _needs_postgresql()
    project = policy_project(study=study, user=researcher)
    text_items(project, 1)
    with pytest.raises(ValidationError) as err:
        run(project, "item,rater,label,role\nt00,x,other,secondary\n")
    assert err.value.message_dict == {
        "role": ["This project takes no secondary labels (item(s) t00)."]
    }
    run(project, "item,rater,label\nt00,x,other\nt00,x,net-zero\nt00,y,reduction\n")
    assert set(ImportedRating.objects.values_list("role", flat=True)) == {"label"}
    votes = project_vote_table(project=project)
    assert sorted(votes["label"]) == ["net-zero", "other", "reduction"]


def test_imported_ratings_count_against_k_for_live_raters(project):
    run(project, "item,rater,label\nt00,x,joy\nt00,y,anger\n")
    (ana,) = raters(project, 1, prefix="ana")
    assert assignment_next(project=project, user=ana).item.external_id == "t01"


def test_ratings_are_never_attributed_to_someone_elses_account(study, researcher):
    """Defect 3: an import naming existing accounts (here two live annotators) used to attach
    the ratings to them and make them members. It is refused whole, naming the rows."""
    _needs_postgresql()
    project = emotion_project(study=study, user=researcher, k=3)
    text_items(project, 2)
    raters(project, 2, prefix="live")
    stranger = UserFactory(username="stranger")
    with pytest.raises(ValidationError) as refused:
        run(project, "item,rater,label\nt00,fresh,joy\nt00,live0,anger\nt01,stranger,fear\n")
    assert refused.value.message_dict == {
        "rater": [
            f"Row {row}: '{name}' is the username of an existing account. Imported ratings go "
            "to new pseudonymous raters only; give this rater another name in the file (to "
            "have the person rate, invite them to the project)."
            for row, name in [(3, "live0"), (4, "stranger")]
        ]
    }
    assert ImportedRating.objects.count() == 0
    assert not User.objects.filter(username="fresh").exists()
    assert not ProjectMember.objects.filter(user=stranger).exists()
    assert set(Item.objects.values_list("slots_taken", flat=True)) == {0}


def test_imported_raters_are_new_inactive_accounts_of_the_study(study, researcher):
    """Each rater of a file becomes an inactive account without a password, marked as an
    imported rater of the study, so a second import into the study (the same file, or
    another project's) reuses it; another study may not."""
    from accounts.services import study_create

    _needs_postgresql()
    project = emotion_project(study=study, user=researcher, k=3)
    text_items(project, 2)
    run(project, "item,rater,label\nt00,ext-1,joy\n")
    ext = User.objects.get(username="ext-1")
    assert (ext.is_active, ext.has_usable_password(), ext.imported_for_id) == (
        False, False, study.pk,
    )  # fmt: skip
    other_project = emotion_project(study=study, user=researcher, name="Second")
    Item.objects.create(project=other_project, external_id="t00", text="T", slots_total=3)
    assert run(other_project, "item,rater,label\nt00,ext-1,fear\n")["new_raters"] == 0
    elsewhere = emotion_project(study=study_create(user=researcher, name="Other"), user=researcher)
    Item.objects.create(project=elsewhere, external_id="t00", text="T", slots_total=3)
    with pytest.raises(ValidationError) as refused:
        run(elsewhere, "item,rater,label\nt00,ext-1,joy\n")
    assert refused.value.message_dict["rater"][0].startswith("Row 2: 'ext-1' is the username")


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("<b>x</b>", "'<b>x</b>'"),
        ("=HYPERLINK(1)", "'=HYPERLINK(1)'"),
        ("+1", "'+1'"),
        ("-1", "'-1'"),
        ("@sum", "'@sum'"),
        ("two words", "'two words'"),
        ('"a\tb"', "'a\\tb'"),
        ("semi;colon", "'semi;colon'"),
    ],
)
def test_rater_names_are_validated_naming_the_row(project, name, shown):
    """Defect 10: names became accounts whatever they held (markup, formulas, spaces)."""
    with pytest.raises(ValidationError) as refused:
        run(project, f"item,rater,label\nt00,ok-1,joy\nt01,{name},joy\n")
    assert refused.value.message_dict == {
        "rater": [
            f"Row 3: {shown} is not a valid rater name. Use letters, digits and . _ @ + - "
            "(not as the first character), without spaces."
        ]
    }
    assert not User.objects.filter(username__in=["ok-1", name]).exists()


def test_rater_names_in_any_script_are_accepted(project):
    report = run(project, "item,rater,label\nt00,평가자_1,joy\nt01,r.o+s@a,joy\n")
    assert report["new_raters"] == 2


def test_imported_ratings_count_in_progress_distribution_quality_and_adjudication(
    project, researcher
):
    run(project, GOOD)
    progress = project_progress(project=project)
    assert (progress["ratings_done"], progress["ratings_imported"]) == (3, 3)
    assert progress["items_complete"] == 1
    assert label_count(project=project) == 4
    shares = {
        r["category"].key: (r["primary"], r["secondary"])
        for r in label_distribution(project=project)
    }
    assert shares == {"anger": (1, 0), "joy": (1, 0), "sadness": (1, 0), "fear": (0, 1)}
    done = {row["member"].user.username: row["done"] for row in annotator_table(project=project)}
    assert done == {"ext-1": 2, "ext-2": 1}
    # ext-1 said joy, ext-2 anger on t00: a disagreement for the adjudicator, who sees both.
    queue = adjudication_queue(project=project)
    assert [entry["item"].external_id for entry in queue] == ["t00"]
    t00 = queue[0]["item"]
    answers = item_labels_for_adjudication(item=t00)
    assert sorted(
        (
            a["rater"].username,
            [c.key for c in a["primary"]],
            [c.key for c in a["secondary"]],
            a["imported"],
        )
        for a in answers
    ) == [("ext-1", ["joy"], ["fear"], True), ("ext-2", ["anger"], [], True)]
    decision = adjudication_record(item=t00, user=researcher, labels=[{"category": "joy"}])
    assert {(b["rater"], b["category"], b["role"]) for b in decision.basis} == {
        (User.objects.get(username="ext-1").pk, "joy", "primary"),
        (User.objects.get(username="ext-1").pk, "fear", "secondary"),
        (User.objects.get(username="ext-2").pk, "anger", "primary"),
    }
    # Excluding a rater leaves their imported labels out of the vote table, reversibly.
    exclusion_create(
        project=project, rater=User.objects.get(username="ext-1"), reason="test", by=researcher
    )
    assert len(project_vote_table(project=project)) == 1
    assert len(project_vote_table(project=project, include_excluded=True)) == 4
    assert Assignment.objects.count() == 0  # fmt: skip


@pytest.mark.django_db(transaction=True)
def test_two_imports_of_one_file_at_once_store_it_once(study, researcher):
    """Parallel clients: the second import waits on the item locks, then skips or refuses."""
    _needs_postgresql()
    project = emotion_project(study=study, user=researcher, k=5)
    text_items(project, 10)
    lines = ["item,rater,label,role"]
    for i in range(10):
        for r in range(4):
            lines.append(f"t{i:02d},par-{r},joy,primary")
            lines.append(f"t{i:02d},par-{r},fear,secondary")
    text = "\n".join(lines) + "\n"
    barrier = threading.Barrier(2)
    outcomes: list[object] = []

    def work():
        try:
            barrier.wait()
            outcomes.append(run(project, text)["labels"])
        except ValidationError as exc:
            outcomes.append(exc.message_dict)
        except BaseException as exc:  # pragma: no cover - reported by the assertion
            outcomes.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert 80 in outcomes
    other = next(o for o in outcomes if o != 80) if outcomes.count(80) == 1 else 80
    assert other == 0 or (isinstance(other, dict) and set(other) == {"file"})
    assert ImportedRating.objects.count() == 80
    assert set(Item.objects.values_list("slots_taken", flat=True)) == {4}
    assert User.objects.filter(username__startswith="par-").count() == 4


def test_erasing_a_rater_gives_their_slots_back_and_deleting_an_item_or_project_cascades(
    project, study
):
    """A rater's account cannot be deleted alone (their ratings hold k slots); ``rater_erase``
    deletes it with its ratings and frees the slots. A category in use cannot be deleted alone,
    but goes with its project (RESTRICT)."""
    from django.core.management import call_command
    from django.db.models import ProtectedError, RestrictedError

    from annotation.models import Annotation, AnnotationLabel, Project
    from annotation.services import rater_erase

    run(project, GOOD)
    slots = lambda: dict(Item.objects.values_list("external_id", "slots_taken"))  # noqa: E731
    assert slots() == {"t00": 2, "t01": 1}
    with pytest.raises(ProtectedError):
        User.objects.get(username="ext-2").delete()
    assert ImportedRating.objects.count() == 4
    assert rater_erase(user=User.objects.get(username="ext-2")) == {
        "assignments": 0, "answers": 0, "imported_labels": 1,
    }  # fmt: skip
    assert not User.objects.filter(username="ext-2").exists()
    assert (ImportedRating.objects.count(), slots()) == (3, {"t00": 1, "t01": 1})

    # A live rater with one answer and one open lease: both slots come back.
    (ana,) = raters(project, 1, prefix="ana")
    lease = assignment_next(project=project, user=ana)
    annotation_submit(
        project=project, user=ana, item_id=lease.item_id, labels=[{"category": "joy"}]
    )
    assert assignment_next(project=project, user=ana) is not None
    assert slots() == {"t00": 2, "t01": 2}
    out = io.StringIO()
    call_command("annotation_erase_rater", "ana0", stdout=out)
    assert '"answers": 1' in out.getvalue() and '"assignments": 2' in out.getvalue()
    assert slots() == {"t00": 1, "t01": 1}
    assert (Assignment.objects.count(), Annotation.objects.count()) == (0, 0)

    # An account that other records keep (here: a project it created) is refused whole.
    (bea,) = raters(project, 1, prefix="bea")
    emotion_project(study=study, user=bea, k=1)
    lease = assignment_next(project=project, user=bea)
    annotation_submit(
        project=project, user=bea, item_id=lease.item_id, labels=[{"category": "joy"}]
    )
    with pytest.raises(ValidationError) as refused:
        rater_erase(user=bea)
    assert "project" in refused.value.message_dict["user"][0]
    assert (Annotation.objects.count(), User.objects.filter(username="bea0").count()) == (1, 1)
    assert sorted(slots().values()) == [1, 2]

    Item.objects.get(external_id="t01").delete()
    assert ImportedRating.objects.count() == 2
    with pytest.raises(RestrictedError):
        project.categories.get(key="joy").delete()
    assert ImportedRating.objects.count() == 2
    # With live answers and a gold label as well, the whole project still goes.
    Item.objects.create(project=project, external_id="t05", kind="text", text="T", slots_total=2)
    (cy,) = raters(project, 1, prefix="cy")
    lease = assignment_next(project=project, user=cy)
    annotation_submit(project=project, user=cy, item_id=lease.item_id, labels=[{"category": "joy"}])
    Item.objects.filter(pk=lease.item_id).update(gold_label=project.categories.get(key="joy"))
    with pytest.raises(RestrictedError):
        project.categories.get(key="joy").delete()
    project.delete()
    assert (Project.objects.filter(pk=project.pk).count(), Annotation.objects.count()) == (0, 0)
    assert (AnnotationLabel.objects.count(), ImportedRating.objects.count()) == (0, 0)


def test_researchers_import_ratings_through_the_api(
    api_as, project, researcher, django_assert_max_num_queries
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    def post(user, text):
        upload = SimpleUploadedFile("ratings.csv", text.encode(), content_type="text/csv")
        return api_as(user).post(
            f"/api/annotation/projects/{project.pk}/ratings/", {"file": upload}, format="multipart"
        )

    (ana,) = raters(project, 1, prefix="ana")
    assert post(ana, GOOD).status_code == 403
    bad = post(researcher, "item,rater,label\nt00,x,rage\n")
    assert bad.status_code == 400
    assert bad.json() == {"errors": {"label": ["Unknown category(ies): rage."]}}
    assert ImportedRating.objects.count() == 0
    response = post(researcher, GOOD)
    assert response.status_code == 201
    assert response.json() == {
        "rows": 4, "answers": 3, "labels": 4, "skipped_rows": 0, "new_raters": 2
    }  # fmt: skip
    assert ImportedRating.objects.count() == 4

    url = f"/api/annotation/projects/{project.pk}/ratings/"
    assert api_as(ana).get(url).status_code == 403
    client = api_as(researcher)
    with django_assert_max_num_queries(6):
        listed = client.get(url, {"limit": 3}).json()
    assert listed["count"] == 4
    assert listed["results"][0] == {
        "item": "t00", "rater": "ext-1", "label": "joy", "role": "primary",
        "created_at": "2026-03-01T10:00:00Z", "time_ms": 1200,
    }  # fmt: skip
    assert [r["label"] for r in listed["results"]] == ["joy", "fear", "anger"]


def test_dashboard_and_adjudication_page_show_imported_ratings(client, project, researcher):
    from django.urls import reverse

    run(project, GOOD)
    client.force_login(researcher)
    page = client.get(reverse("annotation:project", args=[project.pk])).content.decode()
    assert '<span id="ratings-imported">(3 imported)</span>' in page
    t00 = Item.objects.get(external_id="t00")
    page = client.get(reverse("annotation:adjudicate", args=[t00.pk])).content.decode()
    assert page.count('<span class="flag">imported</span>') == 2
    assert "ext-1" in page and "Fear" in page


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ("no_majority", ["t00", "t01"]),
        ("no_plurality", ["t01"]),
        ("not_unanimous", ["t00", "t01", "t02"]),
    ],
)
def test_each_disagreement_rule_picks_its_items(study, researcher, rule, expected):
    """t00: joy joy anger fear; t01: joy joy anger anger; t02: joy joy joy anger; t03: joy x4."""
    _needs_postgresql()
    project = emotion_project(study=study, user=researcher, k=4, disagreement_rule=rule)
    text_items(project, 4)
    answers = {
        "t00": ["joy", "joy", "anger", "fear"],
        "t01": ["joy", "joy", "anger", "anger"],
        "t02": ["joy", "joy", "joy", "anger"],
        "t03": ["joy"] * 4,
    }
    lines = ["item,rater,label"] + [
        f"{item},r{n},{label}" for item, labels in answers.items() for n, label in enumerate(labels)
    ]
    run(project, "\n".join(lines) + "\n")
    queue = adjudication_queue(project=project)
    assert [e["item"].external_id for e in queue] == expected
    if "t00" in expected:
        assert queue[0]["labels"] == [("joy", 2), ("anger", 1), ("fear", 1)]


def test_multi_label_answers_disagree_as_whole_sets(study, researcher):
    _needs_postgresql()
    project = policy_project(study=study, user=researcher, k=3)
    text_items(project, 2)
    run(
        project,
        "item,rater,label\n"
        "t00,a,net-zero\nt00,a,other\nt00,b,other\nt00,b,net-zero\nt00,c,reduction\n"
        "t01,a,net-zero\nt01,b,reduction\nt01,c,other\n",
    )
    queue = adjudication_queue(project=project)
    # t00: two raters chose the same set {net-zero, other}: a majority; t01: none.
    assert [e["item"].external_id for e in queue] == ["t01"]
    assert queue[0]["labels"] == [("net-zero", 1), ("other", 1), ("reduction", 1)]


def test_the_queue_works_with_more_categories_than_a_bit_mask_holds(study, researcher):
    from annotation.services import project_create

    _needs_postgresql()
    project = project_create(
        study=study,
        user=researcher,
        name="Many classes",
        mode="multi_label",
        categories=[{"key": f"c{n:02d}"} for n in range(70)],
        raters_per_item=2,
    )
    text_items(project, 1)
    run(project, "item,rater,label\nt00,a,c69\nt00,a,c01\nt00,b,c69\n")
    (entry,) = adjudication_queue(project=project)
    assert entry["labels"] == [("c01+c69", 1), ("c69", 1)]


def test_a_rater_made_anonymous_keeps_their_ratings_under_the_same_key(project):
    """``--keep-ratings``: name, email, password and memberships go; the answers, imported
    ratings and the vote table's key stay, and the open lease goes back to the pool."""
    from django.core.management import call_command

    from annotation.models import Annotation

    run(project, GOOD)
    (ana,) = raters(project, 1, prefix="ana")
    ana.email, ana.first_name = "ana@example.org", "Ana"
    ana.save()
    Item.objects.create(project=project, external_id="t05", kind="text", text="T", slots_total=2)
    lease = assignment_next(project=project, user=ana)
    annotation_submit(
        project=project, user=ana, item_id=lease.item_id, labels=[{"category": "joy"}]
    )
    open_lease = assignment_next(project=project, user=ana)
    keys_before = set(project_vote_table(project=project)["voter"])
    slots_before = dict(Item.objects.values_list("id", "slots_taken"))
    out = io.StringIO()
    call_command("annotation_erase_rater", "ana0", "--keep-ratings", stdout=out)
    ana.refresh_from_db()
    assert ana.username == f"rater-{voter_key(ana.pk)}"
    assert (ana.email, ana.first_name, ana.is_active) == ("", "", False)
    assert not ana.has_usable_password()
    assert not ProjectMember.objects.filter(user=ana).exists()
    assert Annotation.objects.filter(assignment__rater=ana).count() == 1
    assert set(project_vote_table(project=project)["voter"]) == keys_before
    slots_after = dict(Item.objects.values_list("id", "slots_taken"))
    assert slots_after[open_lease.item_id] == slots_before[open_lease.item_id] - 1
    assert ana.username in out.getvalue()


def test_accounts_of_earlier_imports_are_marked_by_the_data_migration(project, study):
    """Raters imported before ``User.imported_for`` existed are marked, so importing the same
    file again still skips what is there; a person's account is not."""
    import importlib

    from django.apps import apps

    migration = importlib.import_module("annotation.migrations.0006_mark_imported_raters")
    run(project, GOOD)
    User.objects.update(imported_for=None)
    (_ana,) = raters(project, 1, prefix="ana")
    migration.mark(apps, None)
    marked = dict(User.objects.values_list("username", "imported_for_id"))
    assert marked == {"rosa": None, "ext-1": study.pk, "ext-2": study.pk, "ana0": None}
    assert run(project, GOOD)["answers"] == 0
