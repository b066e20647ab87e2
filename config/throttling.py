"""Rate limits, on DRF's throttles, for the API and for the participant pages alike.

Every limit is a rate in ``settings.RATE_LIMITS`` (``"<n>/<s|min|hour|day>"``), read when the
throttle is used, so tests and deployments can change it; ``RATE_LIMITS_ENABLED = False``
turns them all off. Histories live in the default cache: with several web processes that
cache must be shared (Redis or the database, ``CACHE_URL``), or each process counts alone.
Log-in failures are limited by django-axes, not here (see ``docs/configuration.md``).
"""

from __future__ import annotations

import math

from django.conf import settings
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication, get_authorization_header
from rest_framework.permissions import SAFE_METHODS
from rest_framework.throttling import SimpleRateThrottle


def client_address(request) -> str:
    """The caller's IP address.

    ``REMOTE_ADDR`` unless ``TRUSTED_PROXIES`` is set: then the address that many hops from
    the right of ``X-Forwarded-For`` (the one the nearest trusted proxy saw), as DRF's
    ``NUM_PROXIES`` does. The header is never trusted by default, since anyone can send it.
    Also django-axes' ``AXES_CLIENT_IP_CALLABLE``, so log-ins and throttles agree.
    """
    remote = request.META.get("REMOTE_ADDR", "") or ""
    proxies = settings.TRUSTED_PROXIES
    if proxies:
        forwarded = [
            part.strip()
            for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
            if part.strip()
        ]
        if forwarded:
            return forwarded[-min(proxies, len(forwarded))]
    return remote


class SettingsRateThrottle(SimpleRateThrottle):
    """A DRF rate throttle whose rate comes from ``settings.RATE_LIMITS[scope]`` at use time
    (DRF's own reads its rates once, at import)."""

    # Set by SimpleRateThrottle.__init__ from the rate (None when the limit is off).
    num_requests: int | None
    duration: int | None

    def get_rate(self) -> str | None:
        if not settings.RATE_LIMITS_ENABLED:
            return None
        return settings.RATE_LIMITS.get(self.scope or "") or None

    def retry_after(self) -> int:
        """Whole seconds until the oldest counted request leaves the window."""
        history = getattr(self, "history", None)
        if not history or not self.duration:
            return int(self.duration or 60)
        return max(1, math.ceil(self.duration - (self.now - history[-1])))


class AddressThrottle(SettingsRateThrottle):
    """Counted per client address."""

    def get_cache_key(self, request, view) -> str | None:
        return self.cache_format % {"scope": self.scope, "ident": client_address(request)}


class ApiWriteThrottle(SettingsRateThrottle):
    """API writes (every method but GET, HEAD and OPTIONS) per user (per address for
    anonymous requests, which the permissions refuse anyway)."""

    scope = "api_write"

    def get_cache_key(self, request, view) -> str | None:
        if request.method in SAFE_METHODS:
            return None
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            ident = f"user-{user.pk}"
        else:
            ident = f"addr-{client_address(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}


class OpenLinkStartThrottle(AddressThrottle):
    """Survey starts through an open link, per address."""

    scope = "open_link_start"


class TokenMissThrottle(AddressThrottle):
    """Failed token look-ups (API tokens, participant links) per address.

    Only failures count: :meth:`blocked` reads the history, :meth:`record` adds a failure.
    An address that spent its budget is refused even with a good token until the window
    moves on; guessing 192-bit tokens is hopeless anyway, this keeps the guessing cheap.
    """

    scope = "token_miss"

    def blocked(self, request) -> bool:
        if self.rate is None or self.num_requests is None or self.duration is None:
            return False
        self.key = self.get_cache_key(request, None)
        self.history = self.cache.get(self.key, [])
        self.now = self.timer()
        while self.history and self.history[-1] <= self.now - self.duration:
            self.history.pop()
        return len(self.history) >= self.num_requests

    def record(self, request) -> None:
        if self.rate is None:
            return
        if not hasattr(self, "history"):
            self.blocked(request)
        self.throttle_success()


class ThrottledTokenAuthentication(TokenAuthentication):
    """DRF's token authentication with a budget of failed look-ups per address: past it,
    token requests from that address get 429 until the window moves on."""

    def authenticate(self, request):
        guard = TokenMissThrottle()
        if get_authorization_header(request) and guard.blocked(request):
            raise exceptions.Throttled(guard.retry_after())
        try:
            return super().authenticate(request)
        except exceptions.AuthenticationFailed:
            guard.record(request)
            raise
