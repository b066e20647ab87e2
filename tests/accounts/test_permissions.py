"""Who may see a study, through pages and the API alike."""

from __future__ import annotations

import pytest
from rest_framework.authtoken.models import Token

from accounts.models import Study

pytestmark = pytest.mark.django_db


def test_anonymous_user_is_sent_to_login(client, study):
    for url in ["/", f"/studies/{study.id}/"]:
        response = client.get(url)
        assert response.status_code == 302
        assert response.url.startswith("/accounts/login/?next=")


def test_owner_and_member_see_the_study_page(client, study, researcher, colleague):
    for user in (researcher, colleague):
        client.force_login(user)
        response = client.get(f"/studies/{study.id}/")
        assert response.status_code == 200
        assert "Values 2026" in response.content.decode()


def test_outsider_gets_404_on_another_persons_study_page(client, study, outsider):
    client.force_login(outsider)
    assert client.get(f"/studies/{study.id}/").status_code == 404
    home = client.get("/").content.decode()
    assert "Values 2026" not in home


def test_outsider_gets_404_on_the_api_object(api_as, study, outsider):
    response = api_as(outsider).get(f"/api/studies/{study.id}/")
    assert response.status_code == 404
    assert response.json() == {"errors": {"non_field_errors": ["Not found."]}}
    assert api_as(outsider).get("/api/studies/").json() == []


def test_anonymous_api_request_is_refused(api_client, study):
    response = api_client.get(f"/api/studies/{study.id}/")
    assert response.status_code in (401, 403)
    assert "non_field_errors" in response.json()["errors"]


def test_token_authentication_works_for_the_api(api_client, study, researcher, outsider):
    token = Token.objects.create(user=researcher)
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    response = api_client.get(f"/api/studies/{study.id}/")
    assert response.status_code == 200
    assert response.json()["name"] == "Values 2026"

    api_client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert api_client.get(f"/api/studies/{study.id}/").status_code == 401

    other = Token.objects.create(user=outsider)
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {other.key}")
    assert api_client.get(f"/api/studies/{study.id}/").status_code == 404


def test_staff_see_no_study_they_are_not_a_member_of(client, study, outsider):
    """Staff see studies in the admin only (see test_who_may_do_what for the whole story)."""
    outsider.is_staff = outsider.is_superuser = True
    outsider.save()
    client.force_login(outsider)
    assert client.get(f"/studies/{study.id}/").status_code == 404
    assert "Values 2026" not in client.get("/").content.decode()


def test_study_list_has_a_fixed_number_of_queries(api_as, researcher, django_assert_num_queries):
    from accounts.services import study_create

    for i in range(5):
        study_create(user=researcher, name=f"S{i}")
    client = api_as(researcher)
    with django_assert_num_queries(1):
        response = client.get("/api/studies/")
    assert [s["name"] for s in response.json()] == ["S4", "S3", "S2", "S1", "S0"]
    assert Study.objects.count() == 5


def test_home_page_queries_do_not_grow_with_the_number_of_studies(
    client, researcher, django_assert_max_num_queries
):
    """Each study card lists the study's surveys, projects and datasets from one prefetch."""
    from accounts.services import study_create

    client.force_login(researcher)
    study_create(user=researcher, name="First")
    with django_assert_max_num_queries(50) as one_study:
        client.get("/")
    for i in range(6):
        study_create(user=researcher, name=f"More {i}")
    with django_assert_max_num_queries(len(one_study.captured_queries)) as seven_studies:
        body = client.get("/").content.decode()
    assert body.count('class="card"') >= 7
    assert len(seven_studies.captured_queries) == len(one_study.captured_queries)
