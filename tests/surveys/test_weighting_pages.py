"""Weighting in pages: the method, trimming, and merging a category nobody answered from
when weighting fails; results say when they are unweighted. Number questions get their
weighted mean and median."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from surveys.models import Survey, Weight
from surveys.services import response_screen, response_start
from tests.surveys.factories import GOOD_ANSWERS, complete

pytestmark = pytest.mark.django_db


def respond(survey, region, gender, hours):
    response = response_screen(
        response=response_start(survey=survey), values={"region": region, "gender": gender}
    )
    return complete(response, {**GOOD_ANSWERS, "hours": str(hours)})


@pytest.fixture
def seoul_only(open_survey):
    """Census Seoul|F 600, Seoul|M 400, Busan|F 300, Busan|M 200; nobody from Busan answers.
    After merging Busan into Seoul: F 900 over two respondents (450 each), M 600 over one."""
    respond(open_survey, "Seoul", "F", 6)
    respond(open_survey, "Seoul", "F", 9)
    respond(open_survey, "Seoul", "M", 4)
    return open_survey


def results(client, survey):
    return client.get(reverse("surveys:dashboard_section", args=[survey.pk, "results"]))


def flashes(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_failed_weighting_is_explained_and_repaired_by_merging(
    client, researcher, seoul_only, django_capture_on_commit_callbacks
):
    client.force_login(researcher)
    page = results(client, seoul_only)
    html = page.text
    assert page.status_code == 200
    assert "Unweighted answer distributions" in html
    assert "Weighted answer distributions" not in html
    assert "Weighting failed, so these results are unweighted." in html
    assert "No respondent in Busan (region)." in html
    number = page.context["results"]["numbers"][0]
    assert number["mean"]["estimate"] == pytest.approx(19 / 3)  # everyone counts the same

    with django_capture_on_commit_callbacks(execute=True):
        merged = client.post(
            reverse("surveys:weights_merge", args=[seoul_only.pk]),
            {"variable": "region", "category": "Busan", "into": "Seoul"},
        )
    assert merged.status_code == 302
    assert flashes(merged) == ["Busan is merged into Seoul for weighting."]
    assert Survey.objects.get(pk=seoul_only.pk).weighting_merges == {"region": {"Busan": "Seoul"}}
    assert sorted(Weight.objects.values_list("value", flat=True)) == pytest.approx([450, 450, 600])
    page = results(client, seoul_only)
    assert "Weighted answer distributions" in page.text
    assert "weighted by post-stratification" in page.text
    assert "Weighting failed" not in page.text
    number = page.context["results"]["numbers"][0]
    # (450 * 6 + 450 * 9 + 600 * 4) / 1500; the weighted median is 6 (shares .4, .7, 1).
    assert number["mean"]["estimate"] == pytest.approx(6.1)
    assert number["median"]["estimate"] == 6
    assert number["mean"]["ci_low"] < 6.1 < number["mean"]["ci_high"]
    assert "Busan → Seoul (region)" in page.text

    cleared = client.post(
        reverse("surveys:weights_merge", args=[seoul_only.pk]), {"action": "clear"}
    )
    assert flashes(cleared)[-1] == "Merged categories are separate again."
    assert Survey.objects.get(pk=seoul_only.pk).weighting_merges == {}


def test_method_and_trimming_are_chosen_in_the_page(
    client, researcher, seoul_only, django_capture_on_commit_callbacks
):
    client.force_login(researcher)
    url = reverse("surveys:weights", args=[seoul_only.pk])
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url, {"method": "none", "trim": ""})
    survey = Survey.objects.get(pk=seoul_only.pk)
    assert (survey.weighting_method, survey.weight_trim) == ("none", None)
    assert list(Weight.objects.values_list("value", flat=True)) == [1.0, 1.0, 1.0]
    html = results(client, seoul_only).text
    assert "Unweighted answer distributions" in html
    assert "not weighted: every respondent counts the same" in html
    assert "Weighting failed" not in html

    # Raking fails as long as Busan has nobody; after merging it, trimming at the mean weight
    # makes every weight the mean (1500 / 3).
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url, {"method": "rake", "trim": "1"})
        client.post(
            reverse("surveys:weights_merge", args=[seoul_only.pk]),
            {"variable": "region", "category": "Busan", "into": "Seoul"},
        )
    assert list(Weight.objects.values_list("value", flat=True)) == pytest.approx([500] * 3)
    assert set(Weight.objects.values_list("method", flat=True)) == {"rake+trim"}
    assert "weighted by raking, then trimming" in results(client, seoul_only).text


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"method": "rake", "trim": "0.5"}, "Largest weight (times the mean): Ensure this value"),
        ({"method": "rake", "trim": "1e30"}, "Largest weight (times the mean): Ensure this value"),
        ({"method": "magic", "trim": ""}, "Method: Select a valid choice."),
    ],
)
def test_bad_weighting_settings_are_refused(client, researcher, seoul_only, data, message):
    """The results page shows the weighting form again as it was typed, the error by its field."""
    client.force_login(researcher)
    response = client.post(reverse("surveys:weights", args=[seoul_only.pk]), data)
    assert response.status_code == 303
    assert "/results/?form=" in response["Location"]
    assert response["Location"].endswith("#weighting")
    page = client.get(response["Location"])
    form = page.context["weighting_form"]
    label, _sep, error = message.partition(": ")
    name = "trim" if "weight" in label else "method"
    assert form.fields[name].label == label
    assert form.errors[name][0].startswith(error)
    assert form[name].value() == data[name]
    assert error in page.text
    survey = Survey.objects.get(pk=seoul_only.pk)
    assert (survey.weighting_method, survey.weight_trim) == ("auto", None)


def test_bad_merges_are_refused_and_outsiders_see_nothing(client, researcher, outsider, seoul_only):
    client.force_login(researcher)
    url = reverse("surveys:weights_merge", args=[seoul_only.pk])
    for data, message in [
        ({"variable": "age", "category": "Busan", "into": "Seoul"}, "no such weighting variable"),
        ({"variable": "region", "category": "Jeju", "into": "Seoul"}, "no such category"),
        ({"variable": "region", "category": "Busan", "into": "Busan"}, "another category"),
    ]:
        assert message in flashes(client.post(url, data))[-1]
    assert Survey.objects.get(pk=seoul_only.pk).weighting_merges == {}
    client.force_login(outsider)
    assert results(client, seoul_only).status_code == 404
    assert (
        client.post(url, {"variable": "region", "category": "Busan", "into": "Seoul"}).status_code
        == 404
    )
    assert Survey.objects.get(pk=seoul_only.pk).weighting_merges == {}


def test_the_api_takes_the_same_settings(
    api_as, researcher, seoul_only, django_capture_on_commit_callbacks
):
    api = api_as(researcher)
    url = f"/api/surveys/surveys/{seoul_only.pk}/weights/"
    bad = api.post(url, {"method": "rake", "trim": 0.5}, format="json")
    assert bad.status_code == 400
    assert list(bad.json()["errors"]) == ["trim"]
    unknown = api.post(url, {"method": "magic"}, format="json")
    assert (unknown.status_code, list(unknown.json()["errors"])) == (400, ["method"])
    assert Survey.objects.get(pk=seoul_only.pk).weighting_method == "auto"
    with django_capture_on_commit_callbacks(execute=True):
        started = api.post(url, {"method": "none"}, format="json")
    assert started.status_code == 202
    assert api.get(started.json()["url"]).json()["result"]["method"] == "none"
    survey = Survey.objects.get(pk=seoul_only.pk)
    assert (survey.weighting_method, survey.weight_trim) == ("none", None)
