"""Pages: a job that could not be started because background work is unavailable.

Every page that starts a job (builds, exports, weights, invitations, admin actions) lets
``BackgroundUnavailable`` propagate; here it becomes an error message on the page the form was
on, or a 503 page when there is no such page to go back to. The API answers 503 itself
(``config.api.exception_handler``).
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext

from jobs.services import RETRY_AFTER_SECONDS, BackgroundUnavailable


class BackgroundUnavailableMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, BackgroundUnavailable):
            return None
        text = gettext(exception.message)
        back = request.headers.get("Referer", "")
        if back and url_has_allowed_host_and_scheme(
            back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            messages.error(request, text)
            return HttpResponseRedirect(back)
        response = render(request, "jobs/unavailable.html", {"message": text}, status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
