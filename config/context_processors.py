from __future__ import annotations

from urllib.parse import urlsplit

from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme


def language_next(request: HttpRequest) -> dict[str, str]:
    """Where the language switch returns to (``language_next``).

    The page's own address, except on a page answering a POST (a form sent back with its
    errors): its address takes POST only and would answer 405, so the switch returns to the
    page the form was sent from (the Referer, when it is this site's), or home.
    """
    if request.method in ("GET", "HEAD"):
        return {"language_next": request.get_full_path()}
    referer = request.headers.get("referer", "")
    if referer and url_has_allowed_host_and_scheme(
        referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        parts = urlsplit(referer)
        return {"language_next": parts.path + (f"?{parts.query}" if parts.query else "")}
    return {"language_next": "/"}
