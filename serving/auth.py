"""The API key check shared by the HTTP API and the dashboard."""

from __future__ import annotations

import hashlib
import hmac
import os


def auth_disabled() -> bool:
    """True when the service was started with --insecure (no key needed anywhere)."""
    return os.environ.get("NEEDRADAR_INSECURE") == "1"


def key_accepted(token: str) -> bool:
    """Whether `token` is the service's API key (constant-time; never true without a key set)."""
    key = os.environ.get("NEEDRADAR_API_KEY", "")
    return bool(key) and hmac.compare_digest(token.encode(), key.encode())


def bearer_token(authorization: str) -> str:
    """The token of an `Authorization: Bearer <token>` header, or ''."""
    return authorization.removeprefix("Bearer ").strip() if authorization.startswith("Bearer ") else ""


def session_token() -> str:
    """The dashboard's session cookie value: derived from the key, so the key itself never sits
    in a cookie and every worker process agrees without shared state."""
    key = os.environ.get("NEEDRADAR_API_KEY", "")
    return hmac.new(key.encode(), b"needradar-dashboard-session", hashlib.sha256).hexdigest()


def session_accepted(cookie: str) -> bool:
    """Whether `cookie` is a session issued for the current API key."""
    return bool(os.environ.get("NEEDRADAR_API_KEY")) and hmac.compare_digest(cookie, session_token())
