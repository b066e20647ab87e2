"""config/forms.py: a service's errors as the flashed messages of the page a form goes back to."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.contrib.messages.storage.fallback import FallbackStorage
from django.core.exceptions import ValidationError
from django.test import RequestFactory

from config.forms import flash_errors


@pytest.fixture
def request_with_messages():
    request = RequestFactory().post("/")
    request.session = {}
    request._messages = FallbackStorage(request)
    return request


def flashed(request) -> list[tuple[str, str]]:
    return [(m.level_tag, m.message) for m in get_messages(request)]


ERRORS = ValidationError(
    {
        "ratings.arousal": ["Must be between 1 and 7."],
        "non_field_errors": ["Nothing was saved."],
        "__all__": ["Try again."],
    }
)


def test_each_message_is_flashed_as_an_error(request_with_messages):
    flash_errors(request_with_messages, ERRORS)
    assert flashed(request_with_messages) == [
        ("error", "Must be between 1 and 7."),
        ("error", "Nothing was saved."),
        ("error", "Try again."),
    ]


def test_field_names_say_which_field_a_message_is_about(request_with_messages):
    flash_errors(request_with_messages, ERRORS, field_names=True)
    assert flashed(request_with_messages) == [
        ("error", "ratings.arousal: Must be between 1 and 7."),
        ("error", "Nothing was saved."),
        ("error", "Try again."),
    ]


def test_an_error_about_no_field_is_flashed_too(request_with_messages):
    flash_errors(request_with_messages, ValidationError(["One.", "Two."]), field_names=True)
    assert flashed(request_with_messages) == [("error", "One."), ("error", "Two.")]
