"""Hostile values on datasets: each is a 400 naming the field, and nothing is stored.

A split seed of 2^63 or 10^30 did not fit its column (a 500 from PostgreSQL); so did a group
column over 100 characters, and an uploaded item or voter key over 200.
"""

from __future__ import annotations

import io

import pytest
from django.core.exceptions import ValidationError

from benchmarks.models import Dataset, DatasetSource
from benchmarks.services import dataset_create, source_upload_create
from tests.benchmarks.factories import CATEGORIES
from tests.conftest import post_refused

pytestmark = pytest.mark.django_db

AT_MOST = "Ensure this value is less than or equal to {}."


def post_dataset(api, study, **extra):
    return api.post(
        f"/api/benchmarks/studies/{study.id}/datasets/",
        {"name": "Set", "categories": CATEGORIES, **extra},
        format="json",
    )


@pytest.mark.parametrize(
    ("extra", "errors"),
    [
        ({"split_seed": 2**63}, {"split_seed": [AT_MOST.format(2**32 - 1)]}),
        ({"split_seed": 10**30}, {"split_seed": [AT_MOST.format(2**32 - 1)]}),
        ({"split_seed": -1}, {"split_seed": ["Ensure this value is greater than or equal to 0."]}),
        ({"split_group": "g" * 101},
         {"split_group": ["Ensure this field has no more than 100 characters."]}),
        ({"parameters": {"seed": 2**63}}, {"parameters": ["seed: from 0 to 4,294,967,295."]}),
        ({"parameters": {"agreement_boot": 10**9}},
         {"parameters": ["agreement_boot: from 0 to 10,000."]}),
        ({"parameters": {"epsilon": 2.5}}, {"parameters": ["epsilon: from 0 to 1."]}),
    ],
)  # fmt: skip
def test_dataset_numbers_and_texts_beyond_their_columns(api_as, researcher, study, extra, errors):
    response = post_dataset(api_as(researcher), study, **extra)
    assert response.status_code == 400
    assert response.json() == {"errors": errors}
    assert Dataset.objects.count() == 0


def test_largest_split_seed_is_stored(api_as, researcher, study):
    response = post_dataset(api_as(researcher), study, split_seed=2**32 - 1)
    assert response.status_code == 201
    assert Dataset.objects.get().split_seed == 2**32 - 1


def test_split_seed_on_the_page_and_in_the_service(client, researcher, study):
    client.force_login(researcher)
    body = {"name": "Set", "categories": "joy, anger", "rules": ["majority"],
            "tie_policy": "drop", "split_seed": str(2**63), "split_stratify": ""}  # fmt: skip
    response = post_refused(client, f"/benchmarks/studies/{study.id}/datasets/", body)
    assert response.context["form"].errors["split_seed"] == [AT_MOST.format(2**32 - 1)]
    # What was typed is back in the form.
    assert 'value="Set"' in response.content.decode()
    assert f'value="{2**63}"' in response.content.decode()
    with pytest.raises(ValidationError) as err:
        dataset_create(study=study, user=researcher, name="S", categories=CATEGORIES,
                       split_seed=10**30)  # fmt: skip
    assert err.value.message_dict == {"split_seed": ["A whole number from 0 to 4,294,967,295."]}
    assert Dataset.objects.count() == 0


def test_uploaded_keys_longer_than_their_columns(api_as, researcher, dataset):
    data = f"item,voter,label\ni1,v1,joy\n{'i' * 201},v2,joy\ni3,{'v' * 201},anger\n".encode()
    upload = io.BytesIO(data)
    upload.name = "votes.csv"
    response = api_as(researcher).post(
        f"/api/benchmarks/datasets/{dataset.id}/sources/", {"file": upload}, format="multipart"
    )
    assert response.status_code == 400
    assert response.json() == {
        "errors": {
            "upload": [
                "item: 1 value(s) longer than 200 characters (row 3).",
                "voter: 1 value(s) longer than 200 characters (row 4).",
            ]
        }
    }
    assert DatasetSource.objects.count() == 0


def test_uploaded_csv_header_over_128_kb(dataset):
    data = f"item,voter,label,{'m' * 200_000}\ni1,v1,joy,x\n".encode()
    with pytest.raises(ValidationError) as err:
        source_upload_create(dataset=dataset, file_name="votes.csv", content=data)
    assert err.value.message_dict == {
        "upload": ["A column name of 200,000 characters; at most 200."]
    }
    assert DatasetSource.objects.count() == 0
