"""Pages: the work loop without JavaScript, dashboards, and who may open what."""

from __future__ import annotations

import io
import zipfile

import pytest

from annotation.media import write_tone_wav
from annotation.models import Annotation, Item, MemberRole
from annotation.services import annotation_submit, assignment_next, items_import
from tests.annotation.factories import emotion_project, raters, text_items

pytestmark = pytest.mark.django_db


@pytest.fixture
def project(study, researcher):
    project = emotion_project(study=study, user=researcher, k=2, guidelines="# Listen *twice*")
    text_items(project, 3)
    return project


def test_annotate_without_javascript(client, project):
    (ana,) = raters(project, 1, prefix="ana")
    client.force_login(ana)
    page = client.get(f"/annotation/projects/{project.id}/annotate/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "Passage 0" in body
    assert 'data-kb="1"' in body
    item = Item.objects.get(external_id="t00")
    response = client.post(
        f"/annotation/projects/{project.id}/annotate/submit/",
        {"item": item.id, "primary": "joy", "secondary": ["fear"], "rating_arousal": "4"},
    )
    assert response.status_code == 302
    annotation = Annotation.objects.get()
    assert sorted(annotation.labels.values_list("category__key", "role")) == [
        ("fear", "secondary"),
        ("joy", "primary"),
    ]
    assert annotation.ratings == {"arousal": 4}
    assert annotation.time_ms is not None
    # A second primary through the form is impossible (radio); a bad rating is refused.
    nxt = client.get(f"/annotation/projects/{project.id}/annotate/")
    assert "Passage 1" in nxt.content.decode()
    item1 = Item.objects.get(external_id="t01")
    response = client.post(
        f"/annotation/projects/{project.id}/annotate/submit/",
        {"item": item1.id, "primary": "joy", "rating_arousal": "12"},
        follow=True,
    )
    assert "ratings.arousal: Must be between 1 and 7." in response.content.decode()
    assert Annotation.objects.count() == 1


def test_dashboard_for_researchers_only(client, project, researcher, colleague, outsider):
    users = raters(project, 2)
    for user in users:
        for label in ("joy", "anger"):
            lease = assignment_next(project=project, user=user)
            annotation_submit(
                project=project,
                user=user,
                item_id=lease.item_id,
                labels=[{"category": label}],
                time_ms=2000,
            )
    for user in (researcher, colleague):
        client.force_login(user)
        page = client.get(f"/annotation/projects/{project.id}/")
        assert page.status_code == 200
        body = page.content.decode()
        assert "Label distribution" in body
        assert 'id="ratings-done">4 / 6<' in body
    client.force_login(users[0])
    assert client.get(f"/annotation/projects/{project.id}/").status_code == 403
    assert client.get(f"/annotation/projects/{project.id}/adjudication/").status_code == 403
    item = Item.objects.get(external_id="t00")
    assert client.get(f"/annotation/items/{item.id}/adjudicate/").status_code == 403
    client.force_login(outsider)
    for path in ("", "annotate/", "guidelines/", "adjudication/"):
        assert client.get(f"/annotation/projects/{project.id}/{path}").status_code == 404


def test_annotator_cannot_open_another_projects_pages(client, project, study, researcher):
    other = emotion_project(study=study, user=researcher, name="Other")
    text_items(other, 1)
    (ana,) = raters(project, 1, prefix="ana")
    client.force_login(ana)
    assert client.get(f"/annotation/projects/{other.id}/annotate/").status_code == 404
    other_item = Item.objects.get(project=other)
    response = client.post(
        f"/annotation/projects/{project.id}/annotate/submit/",
        {"item": other_item.id, "primary": "joy"},
        follow=True,
    )
    assert "item: This item is not assigned to you." in response.content.decode()
    assert client.get(f"/annotation/items/{other_item.id}/media/").status_code == 404
    assert Annotation.objects.count() == 0


def test_guidelines_and_home_work_list(client, project):
    (ana,) = raters(project, 1, prefix="ana")
    client.force_login(ana)
    page = client.get(f"/annotation/projects/{project.id}/guidelines/").content.decode()
    assert '<h2 id="listen-twice">Listen <em>twice</em></h2>' in page
    home = client.get("/").content.decode()
    assert "Your annotation work" in home
    assert "0 answered, 3 left" in home


def test_media_is_served_to_the_assigned_rater_only(client, study, researcher):
    project = emotion_project(study=study, user=researcher, k=1)
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("a.wav", write_tone_wav(frequency=440))
    items_import(
        project=project,
        data=b"external_id,media\nclip,a.wav\n",
        filename="c.csv",
        media_zip=archive.getvalue(),
    )
    ana, ben = raters(project, 2)
    assignment_next(project=project, user=ana)
    item = Item.objects.get()
    client.force_login(ana)
    response = client.get(f"/annotation/items/{item.id}/media/")
    assert response.status_code == 200
    assert response["Content-Type"] == "audio/wav"
    assert b"".join(response.streaming_content)[:4] == b"RIFF"
    client.force_login(ben)
    assert client.get(f"/annotation/items/{item.id}/media/").status_code == 404


def test_adjudicator_member_sees_the_queue(client, project):
    (judge,) = raters(project, 1, prefix="judge", role=MemberRole.ADJUDICATOR)
    client.force_login(judge)
    assert client.get(f"/annotation/projects/{project.id}/adjudication/").status_code == 200
    assert client.get(f"/annotation/projects/{project.id}/annotate/").status_code == 403


def test_the_dashboard_shows_the_last_agreement_job_and_says_when_it_is_out_of_date(
    client, project, researcher, django_capture_on_commit_callbacks
):
    from annotation.selectors import voter_key
    from annotation.services import agreement_job_start
    from jobs.models import Job

    users = raters(project, 3)
    for user in users[:2]:
        lease = assignment_next(project=project, user=user)
        annotation_submit(
            project=project, user=user, item_id=lease.item_id, labels=[{"category": "joy"}]
        )
    client.force_login(researcher)
    body = client.get(f"/annotation/projects/{project.id}/").content.decode()
    # Loading the page computes nothing: no report until a job has made one.
    assert "No report yet" in body
    assert 'id="alpha"' not in body
    assert not Job.objects.filter(kind="annotation_agreement").exists()

    with django_capture_on_commit_callbacks(execute=True):
        job = agreement_job_start(project=project, user=researcher)
    job.refresh_from_db()
    assert job.status == "succeeded", job.message
    assert job.result["basis"] == {"n_labels": 2, "excluded": []}
    assert set(job.result["annotators"]) == {voter_key(u.pk) for u in users[:2]}
    body = client.get(f"/annotation/projects/{project.id}/").content.decode()
    assert "No report yet" not in body
    assert "Computed " in body and "over 2 labels" in body
    assert "have changed since" not in body

    # A third rating: the report is now out of date, and says so.
    lease = assignment_next(project=project, user=users[2])
    annotation_submit(
        project=project, user=users[2], item_id=lease.item_id, labels=[{"category": "anger"}]
    )
    body = client.get(f"/annotation/projects/{project.id}/").content.decode()
    assert "have changed since" in body
    # The report shown is the job's own, whatever its figures.
    Job.objects.filter(pk=job.pk).update(result={**job.result, "alpha": 0.123})
    body = client.get(f"/annotation/projects/{project.id}/").content.decode()
    assert 'id="alpha">0.123<' in body


def test_excluding_an_annotator_recomputes_the_agreement_report(
    client, project, researcher, django_capture_on_commit_callbacks
):
    from annotation.services import agreement_job_start
    from jobs.models import Job

    users = raters(project, 2)
    for user in users:
        lease = assignment_next(project=project, user=user)
        annotation_submit(
            project=project, user=user, item_id=lease.item_id, labels=[{"category": "joy"}]
        )
    with django_capture_on_commit_callbacks(execute=True):
        agreement_job_start(project=project, user=researcher)
    client.force_login(researcher)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/annotation/projects/{project.id}/exclusions/",
            {"username": users[1].username, "reason": "Too fast"},
        )
    assert response.status_code == 302
    latest = Job.objects.filter(kind="annotation_agreement").order_by("-created_at").first()
    assert Job.objects.filter(kind="annotation_agreement").count() == 2
    assert latest.result["basis"]["excluded"] == [users[1].pk]
    body = client.get(f"/annotation/projects/{project.id}/").content.decode()
    assert "have changed since" not in body


def test_guidelines_markdown_keeps_code_and_drops_raw_html_and_script_links():
    from annotation.markup import guidelines_html

    html = guidelines_html(
        "# Rules\n\nType `<b>` or <b>bold</b>; see <https://example.org>.\n\n"
        "[bad](javascript:alert(1)) [good](https://example.org/x) [local](/help)\n\n"
        "    if x < 3: pass\n"
    )
    assert '<h2 id="rules">Rules</h2>' in html
    assert "<code>&lt;b&gt;</code>" in html
    assert "&lt;b&gt;bold&lt;/b&gt;" in html and "<b>" not in html
    assert '<a href="https://example.org">https://example.org</a>' in html
    # The cleaner drops a refused target (the anchor stays, as text): no href at all.
    assert "<a>bad</a>" in html and "javascript" not in html
    assert '<a href="https://example.org/x">good</a>' in html
    assert '<a href="/help">local</a>' in html
    assert "if x &lt; 3: pass" in html


def test_the_dashboard_keeps_the_last_good_report_beside_a_newer_failed_job(
    client, project, researcher
):
    """Three jobs: an agreement job that succeeded, a newer one that failed, a votes export.
    The page shows the older job's report, the newer job's failure and the export."""
    from datetime import timedelta

    from django.utils import timezone

    from annotation.selectors import project_jobs
    from jobs.models import Job

    now = timezone.now()
    params = {"project": project.pk}
    good = Job.objects.create(
        kind="annotation_agreement", status="succeeded", params=params, study=project.study,
        result={"available": True, "basis": {"n_labels": 0, "excluded": []}, "alpha": 0.456},
        finished_at=now - timedelta(hours=2),
    )  # fmt: skip
    failed = Job.objects.create(
        kind="annotation_agreement", status="failed", params=params, study=project.study,
        message="Failed: the worker stopped.", finished_at=now - timedelta(hours=1),
    )  # fmt: skip
    export = Job.objects.create(
        kind="annotation_votes_export", status="succeeded", params=params, study=project.study
    )
    Job.objects.filter(pk=good.pk).update(created_at=now - timedelta(hours=3))
    Job.objects.filter(pk=failed.pk).update(created_at=now - timedelta(hours=2))
    # Another project's job is none of this project's.
    Job.objects.create(kind="annotation_agreement", status="succeeded", params={"project": 0})
    jobs = project_jobs(project=project)
    assert (jobs["agreement"], jobs["agreement_succeeded"], jobs["votes_export"]) == (
        failed,
        good,
        export,
    )
    client.force_login(researcher)
    body = client.get(f"/annotation/projects/{project.id}/").content.decode()
    assert 'id="alpha">0.456<' in body
    assert "Failed: the worker stopped." in body
    assert f"/jobs/{export.pk}/" in body
