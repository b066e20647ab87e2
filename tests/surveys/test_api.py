"""The API end to end, permissions (outsiders get 404) and pinned query counts."""

from __future__ import annotations

import pytest
from django.urls import reverse

from surveys.models import Population, Question, ReviewState, SurveyStatus
from surveys.services import response_screen, response_start, sample_draw
from tests.surveys.factories import complete, population_csv

pytestmark = pytest.mark.django_db


def test_worked_example_through_the_api(
    api_as, researcher, colleague, study, django_capture_on_commit_callbacks
):
    api = api_as(researcher)
    population = api.post(
        "/api/surveys/populations/",
        {"study": study.pk, "name": "KR", "csv": population_csv()},
        format="json",
    )
    assert population.status_code == 201, population.json()
    assert [c["key"] for c in population.json()["cells"]] == [
        "Seoul|F",
        "Seoul|M",
        "Busan|F",
        "Busan|M",
    ]
    pop_id = population.json()["id"]
    panel = api.post("/api/surveys/panels/", {"population": pop_id, "name": "P"}, format="json")
    lines = ["external_id,region,gender,email"] + [
        f"E{i},{r},{g},e{i}@example.org"
        for i, (r, g) in enumerate(
            [("Seoul", "F"), ("Seoul", "M"), ("Busan", "F"), ("Busan", "M")] * 5
        )
    ]
    report = api.post(
        f"/api/surveys/panels/{panel.json()['id']}/import/",
        {"csv": "\n".join(lines)},
        format="json",
    )
    assert report.json() == {"created": 20, "updated": 0, "unchanged": 0, "errors": []}
    preview = api.post(
        "/api/surveys/designs/preview/",
        {"population": pop_id, "panel": panel.json()["id"], "n": 12},
        format="json",
    )
    assert preview.json() == {
        "n": 12,
        "quotas": {"Seoul|F": 5, "Seoul|M": 3, "Busan|F": 2, "Busan|M": 2},
    }
    design = api.post(
        "/api/surveys/designs/",
        {"population": pop_id, "panel": panel.json()["id"], "n": 12, "name": "Main"},
        format="json",
    )
    assert design.status_code == 201
    survey = api.post(
        "/api/surveys/surveys/",
        {
            "study": study.pk,
            "title_en": "Values",
            "title_ko": "가치관",
            "design": design.json()["id"],
        },
        format="json",
    )
    sid = survey.json()["id"]
    block = api.post(f"/api/surveys/surveys/{sid}/blocks/", {"title_en": "A"}, format="json")
    question = api.post(
        f"/api/surveys/surveys/{sid}/questions/",
        {
            "block": block.json()["id"],
            "code": "trust",
            "kind": "single",
            "text_en": "Do you trust people?",
            "text_ko": "사람을 믿습니까?",
            "options": [
                {"code": "y", "text_en": "Yes", "text_ko": "예"},
                {"code": "n", "text_en": "No", "text_ko": "아니요"},
            ],
        },
        format="json",
    )
    assert question.status_code == 201, question.json()
    qid = question.json()["id"]
    refused = api.post(f"/api/surveys/surveys/{sid}/open/")
    assert refused.status_code == 400
    assert refused.json() == {
        "errors": {"survey": ["These questions are not approved yet: trust."]}
    }
    api.post(f"/api/surveys/questions/{qid}/submit/")
    own = api.post(f"/api/surveys/questions/{qid}/reviews/", {"decision": "approve"}, format="json")
    assert own.json() == {"errors": {"reviewer": ["Authors cannot review their own questions."]}}
    review = api_as(colleague).post(
        f"/api/surveys/questions/{qid}/reviews/", {"decision": "approve"}, format="json"
    )
    assert review.json()["question"]["review_state"] == "approved"
    api = api_as(researcher)
    assert api.post(f"/api/surveys/surveys/{sid}/open/").json()["status"] == "open"
    draw = api.post(f"/api/surveys/surveys/{sid}/draws/", {"seed": 9}, format="json")
    assert draw.json()["size"] == 12
    with django_capture_on_commit_callbacks(execute=True):
        job = api.post(f"/api/surveys/surveys/{sid}/invitations/send/", {}, format="json")
    assert job.status_code == 202
    assert api.get(job.json()["url"]).json()["result"] == {"sent": 12, "skipped": 0}
    truth = api.get(f"/api/surveys/surveys/{sid}/ground-truth/").json()
    assert truth[0]["code"] == "trust" and truth[0]["n"] == 0


def test_unknown_fields_are_refused(api_as, researcher, study):
    response = api_as(researcher).post(
        "/api/surveys/populations/", {"study": study.pk, "name": "X", "cvs": "a"}, format="json"
    )
    assert response.json() == {"errors": {"cvs": ["Unknown field."]}}
    assert Population.objects.count() == 0


def test_bad_population_csv_reports_rows(api_as, researcher, study):
    response = api_as(researcher).post(
        "/api/surveys/populations/",
        {"study": study.pk, "name": "X", "csv": "region,count\nSeoul,-1\n"},
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {"errors": {"rows": ["Row 2: count -1 is negative."]}}


def test_outsider_gets_404_everywhere(api_as, client, outsider, survey, panel):
    api = api_as(outsider)
    question = Question.objects.filter(survey=survey).first()
    for url in [
        f"/api/surveys/surveys/{survey.pk}/",
        f"/api/surveys/surveys/{survey.pk}/ground-truth/",
        f"/api/surveys/surveys/{survey.pk}/responses/",
        f"/api/surveys/populations/{survey.design.population_id}/",
        f"/api/surveys/designs/{survey.design_id}/",
        f"/api/surveys/panels/{panel.pk}/contacts/",
    ]:
        assert api.get(url).status_code == 404, url
    for url in [
        f"/api/surveys/surveys/{survey.pk}/close/",
        f"/api/surveys/surveys/{survey.pk}/draws/",
        f"/api/surveys/questions/{question.pk}/reviews/",
    ]:
        assert api.post(url, {"seed": 1, "decision": "approve"}, format="json").status_code == 404
    assert api.get("/api/surveys/surveys/").json() == []
    survey.refresh_from_db()
    assert survey.status == SurveyStatus.OPEN
    client.force_login(outsider)
    for name in ["surveys:dashboard", "surveys:review_queue"]:
        assert client.get(reverse(name, args=[survey.pk])).status_code == 404
    assert client.post(reverse("surveys:weights", args=[survey.pk])).status_code == 404


def test_contacts_are_for_owners_only(api_as, researcher, colleague, panel):
    assert api_as(colleague).get(f"/api/surveys/panels/{panel.pk}/contacts/").status_code == 403
    contacts = api_as(researcher).get(f"/api/surveys/panels/{panel.pk}/contacts/").json()
    assert len(contacts) == 40
    assert contacts[0] == {"external_id": "P0001", "email": "p1@example.org", "phone": ""}


def test_response_list_queries_are_pinned(
    api_as, researcher, open_survey, django_assert_num_queries
):
    for region, gender in [("Seoul", "F"), ("Busan", "M"), ("Seoul", "M")]:
        complete(
            response_screen(
                response=response_start(survey=open_survey),
                values={"region": region, "gender": gender},
            )
        )
    api = api_as(researcher)
    # survey with its study, membership, count, page
    with django_assert_num_queries(4):
        page = api.get(f"/api/surveys/surveys/{open_survey.pk}/responses/")
    assert page.json()["count"] == 3
    assert [r["cell"] for r in page.json()["results"]] == ["Seoul|F", "Busan|M", "Seoul|M"]


def test_dashboard_and_review_queue_pages(client, researcher, colleague, survey, study):
    sample_draw(survey=survey, seed=1)
    client.force_login(researcher)
    page = client.get(reverse("surveys:dashboard_section", args=[survey.pk, "quotas"]))
    html = page.content.decode()
    assert page.status_code == 200
    assert "Quota fill per cell" in html and "Seoul|F" in html
    assert (
        client.get(reverse("study_detail", args=[study.pk]))
        .content.decode()
        .count(reverse("surveys:dashboard", args=[survey.pk]))
        == 1
    )
    from tests.surveys.factories import make_survey

    draft = make_survey(study, approve=False)
    q = draft.questions.get(code="family")
    from surveys.services import question_submit

    question_submit(question=q, user=researcher)
    client.force_login(colleague)
    queue = client.get(reverse("surveys:review_queue", args=[draft.pk]))
    assert "Family comes first." in queue.content.decode()
    client.post(
        reverse("surveys:review_question", args=[draft.pk, q.pk]),
        {"decision": "approve", "comment": ""},
    )
    q.refresh_from_db()
    assert q.review_state == ReviewState.APPROVED


def test_export_and_weights_run_as_jobs(
    api_as, researcher, open_survey, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.MEDIA_ROOT = tmp_path
    for region, gender in [("Seoul", "F"), ("Busan", "M"), ("Seoul", "M"), ("Busan", "F")]:
        complete(
            response_screen(
                response=response_start(survey=open_survey),
                values={"region": region, "gender": gender},
            )
        )
    api = api_as(researcher)
    with django_capture_on_commit_callbacks(execute=True):
        weights = api.post(f"/api/surveys/surveys/{open_survey.pk}/weights/")
    assert weights.status_code == 202
    job = api.get(weights.json()["url"]).json()
    assert job["status"] == "succeeded"
    assert job["result"]["method"] == "poststratify"
    with django_capture_on_commit_callbacks(execute=True):
        export = api.post(
            f"/api/surveys/surveys/{open_survey.pk}/exports/", {"format": "csv"}, format="json"
        )
    from jobs.models import Job

    job = Job.objects.get(pk=export.json()["job"])
    assert (job.status, job.result) == ("succeeded", {"format": "csv"})
    content = job.result_file.read()
    assert content.startswith("\ufeff".encode())
    assert content.decode("utf-8-sig").count("\n") == 5
    bad = api.post(
        f"/api/surveys/surveys/{open_survey.pk}/exports/", {"format": "xls"}, format="json"
    )
    assert bad.status_code == 400
    assert list(bad.json()["errors"]) == ["format"]


def test_dashboard_with_a_single_respondent(client, researcher, open_survey):
    complete(
        response_screen(
            response=response_start(survey=open_survey), values={"region": "Seoul", "gender": "F"}
        )
    )
    client.force_login(researcher)
    page = client.get(reverse("surveys:dashboard", args=[open_survey.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert "Family comes first." in html and "n = 1" in html
    assert "Choose &#x27;Agree&#x27;." not in html  # attention checks are not distributions


def test_editing_a_question_sends_it_back_to_review(api_as, researcher, outsider, study):
    from tests.surveys.factories import make_survey

    survey = make_survey(study, approve=False)
    question = survey.questions.get(code="capital")
    url = f"/api/surveys/questions/{question.pk}/"
    api = api_as(researcher)
    bad = api.patch(url, {"answer_key": "jeju"}, format="json")
    assert bad.json() == {"errors": {"answer_key": ["'jeju' is not an option of the question."]}}
    edited = api.patch(url, {"text_en": "Which city is the capital?"}, format="json")
    assert (edited.json()["text_en"], edited.json()["review_state"]) == (
        "Which city is the capital?",
        "draft",
    )
    assert api_as(outsider).patch(url, {"text_en": "x"}, format="json").status_code == 404
    question.refresh_from_db()
    assert (question.text_en, question.answer_key) == ("Which city is the capital?", "seoul")
