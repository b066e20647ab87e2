"""Endpoint keys kept in the database are encrypted (Fernet: AES-128-CBC with HMAC-SHA256).

The encryption key is derived from ``SECRET_KEY``: rotating it makes stored endpoint keys
unreadable, and they must be entered again (or read from an environment variable instead).
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings


def _fernet() -> Fernet:
    digest = hashlib.sha256(f"chorus-endpoint-keys:{settings.SECRET_KEY}".encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def encrypt(secret: str) -> bytes:
    return _fernet().encrypt(secret.encode()) if secret else b""


def decrypt(token: bytes) -> str:
    if not token:
        return ""
    try:
        return _fernet().decrypt(bytes(token)).decode()
    except InvalidToken:
        return ""
