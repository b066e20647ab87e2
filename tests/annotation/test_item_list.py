"""A project's item list: a page at a time, searchable by id and text, for researchers."""

from __future__ import annotations

import pytest
from django.urls import reverse

from annotation.services import annotation_submit, assignment_next
from tests.annotation.factories import emotion_project, raters, text_items

pytestmark = pytest.mark.django_db


@pytest.fixture
def project(study, researcher):
    project = emotion_project(study=study, user=researcher, k=2, scales=[])
    text_items(project, 30, gold={3: "joy"})
    return project


def test_items_are_paged_and_searched(client, researcher, project, django_assert_max_num_queries):
    (rater,) = raters(project, 1)
    lease = assignment_next(project=project, user=rater)
    annotation_submit(
        project=project, user=rater, item_id=lease.item_id, labels=[{"category": "joy"}]
    )
    client.force_login(researcher)
    url = reverse("annotation:items", args=[project.pk])
    with django_assert_max_num_queries(12):
        page = client.get(url)
    items = page.context["items"]
    assert (items.paginator.count, len(items.object_list)) == (30, 25)
    assert "Page 1 of 2 (30 rows)" in page.text
    done = {i.external_id: (i.done, i.slots_total) for i in items}
    assert done[lease.item.external_id] == (1, 2)
    assert len(client.get(url, {"page": "2"}).context["items"].object_list) == 5
    by_text = client.get(url, {"q": "passage 1"}).context["items"]
    assert sorted(i.external_id for i in by_text) == ["t01"] + [f"t{n}" for n in range(10, 20)]
    by_id = client.get(url, {"q": "T03"})
    assert [i.external_id for i in by_id.context["items"]] == ["t03"]
    assert "<td>Joy</td>" in by_id.text  # the gold label
    assert "No item matches this search." in client.get(url, {"q": "zzz"}).text
    # The search keeps its words when paging.
    assert 'href="?page=2&amp;q=t' in client.get(url, {"q": "t"}).text


def test_items_are_for_researchers_only(client, project, outsider):
    (rater,) = raters(project, 1)
    url = reverse("annotation:items", args=[project.pk])
    client.force_login(rater)
    assert client.get(url).status_code == 403
    client.force_login(outsider)
    assert client.get(url).status_code == 404
