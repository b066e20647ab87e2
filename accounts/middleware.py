from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from accounts.access import write_request

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


class StudyWriteMiddleware:
    """Marks requests that may write, so that reviewers and viewers of a study are refused
    every change but a question review (see :mod:`accounts.access`)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with write_request(request.method not in SAFE_METHODS):
            return self.get_response(request)
