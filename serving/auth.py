"""Who may call what: role keys (stored as hashes), the role of each path, and the checks.

Pure functions first (`role_for`, `allowed`, `required_role`, ...) so that the dashboard's pages
can ask the same questions as the HTTP middleware in serving/guard.py. Keys are random
256-bit tokens, so one SHA-256 of each is stored, never the key; a key file edited by
`needradar keys add/revoke` is re-read within `security.key_cache_seconds`, without a restart.
`NEEDRADAR_API_KEY` in the environment stays valid as one admin key for one-person setups.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from core.config import Settings
from core.errors import NeedradarError
from core.io import write_text
from core.locks import file_lock

logger = logging.getLogger(__name__)
ROLES = ("app", "retention", "planner", "admin")
ENV_ADMIN = "env-admin"  # the name audit lines give to NEEDRADAR_API_KEY
# Exact paths, so that a future route beginning with /docs or /metrics is not open by accident.
OPEN_PATHS = frozenset({"/", "/livez", "/readyz", "/healthz", "/metrics", "/docs", "/docs.js", "/docs.json"})
OPEN_PREFIXES = ("/static_content/",)  # the assets of the /docs page
# A rule ending in "/*" covers a page and everything below it; any other rule is one exact path.
ROLE_PATHS: dict[str, tuple[str, ...]] = {
    "app": ("/score",),
    "retention": ("/score", "/at_risk", "/campaigns", "/ui", "/ui/customer/*", "/ui/at_risk.csv"),
    "planner": ("/forecast", "/needs", "/ui/volumes/*", "/ui/service/*", "/ui/needs/*"),
}
ANY_ROLE = ("/ui/login", "/ui/logout", "/ui/static/*")  # any valid key may see these
# Pages that check a session cookie themselves (with `caller_from_session` and `allowed`), so
# that a browser without a bearer header gets the login form instead of a bare 401.
SESSION_PAGES = "/ui"


def checks_own_session(path: str, has_bearer: bool) -> bool:
    """Whether the middleware leaves the check to the dashboard (a page, no bearer header)."""
    return not has_bearer and (path == SESSION_PAGES or path.startswith(SESSION_PAGES + "/"))


@dataclass(frozen=True)
class KeyEntry:
    name: str
    role: str
    hash: str
    created: str


@dataclass(frozen=True)
class Caller:
    name: str
    role: str


def is_open(path: str) -> bool:
    """Health, readiness, metrics and the API docs need no key."""
    return path in OPEN_PATHS or path.startswith(OPEN_PREFIXES)


def _matches(path: str, rule: str) -> bool:
    if rule.endswith("/*"):
        return path == rule[:-2] or path.startswith(rule[:-1])
    return path == rule


def allowed(role: str | None, path: str) -> bool:
    """Whether `role` may call `path` (admin may call everything)."""
    if role == "admin":
        return True
    rules = ROLE_PATHS.get(role or "", ())
    return role in ROLES and any(_matches(path, r) for r in (*rules, *ANY_ROLE))


def required_role(path: str) -> str:
    """The first role (least powerful first) that may call `path`; admin when only admin may."""
    return next((r for r in ("app", "retention", "planner") if allowed(r, path)), "admin")


def hash_key(token: bytes) -> str:
    return hashlib.sha256(token).hexdigest()


def keys_path(settings: Settings) -> Path:
    return settings.resolve(settings.security.keys_file)


def read_keys(path: Path) -> list[KeyEntry]:
    """The stored keys; a missing file means none. A broken file is an error naming it."""
    if not path.exists():
        return []
    try:
        return [KeyEntry(**e) for e in json.loads(path.read_text())["keys"]]
    except (ValueError, KeyError, TypeError) as e:
        raise NeedradarError(f"{path}: not a needradar key file ({e})") from e


def _write_keys(path: Path, keys: list[KeyEntry]) -> None:
    write_text(path, json.dumps({"keys": [asdict(k) for k in keys]}, indent=2) + "\n")  # mode 0600


def add_key(settings: Settings, name: str, role: str) -> str:
    """Create a key for `name` with `role`, store its hash and return the key (shown once)."""
    if role not in ROLES:
        raise NeedradarError(f"unknown role {role!r}; choose one of {', '.join(ROLES)}")
    if not name or not name.replace("-", "").replace("_", "").isalnum() or name == ENV_ADMIN:
        raise NeedradarError(f"key name {name!r}: use letters, digits, - and _ (not {ENV_ADMIN})")
    path = keys_path(settings)
    with file_lock(path.with_name(path.name + ".lock")):
        keys = read_keys(path)
        if any(k.name == name for k in keys):
            raise NeedradarError(f"a key named {name!r} exists; revoke it first or choose another name")
        token = "nr_" + secrets.token_urlsafe(32)
        created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        _write_keys(path, [*keys, KeyEntry(name, role, hash_key(token.encode()), created)])
    return token


def revoke_key(settings: Settings, name: str) -> KeyEntry:
    """Remove the key called `name`; running servers stop accepting it within seconds."""
    path = keys_path(settings)
    with file_lock(path.with_name(path.name + ".lock")):
        keys = read_keys(path)
        gone = [k for k in keys if k.name == name]
        if not gone:
            known = ", ".join(k.name for k in keys) or "none"
            raise NeedradarError(f"no key named {name!r} (known: {known})")
        _write_keys(path, [k for k in keys if k.name != name])
    return gone[0]


class _KeyCache:
    """The key file's entries, re-read when it changed, checked at most every `ttl` seconds."""

    def __init__(self, path: Path, ttl: float) -> None:
        self.path, self.ttl = path, ttl
        self.checked, self.stamp, self.entries = -1e18, None, []

    def get(self) -> list[KeyEntry]:
        now = time.monotonic()
        if now - self.checked >= self.ttl:
            self.checked = now
            try:
                st = self.path.stat()
                stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
            except FileNotFoundError:
                stamp = None
            if stamp != self.stamp:
                try:
                    self.entries = read_keys(self.path) if stamp else []
                    self.stamp = stamp
                except NeedradarError as e:  # keep serving the last good keys; say why once
                    logger.error("%s", e)
                    self.stamp = stamp
        return self.entries


_caches: dict[Path, _KeyCache] = {}


def stored_keys(settings: Settings) -> list[KeyEntry]:
    path = keys_path(settings)
    cache = _caches.get(path)
    if cache is None:
        cache = _caches[path] = _KeyCache(path, settings.security.key_cache_seconds)
    return cache.get()


def identify(token: bytes, settings: Settings) -> Caller | None:
    """The caller a key belongs to, or None. Compares bytes in constant time."""
    if not token:
        return None
    admin = settings.api_key.encode()
    if admin and hmac.compare_digest(token, admin):
        return Caller(ENV_ADMIN, "admin")
    digest = hash_key(token).encode()
    for entry in stored_keys(settings):
        if hmac.compare_digest(digest, entry.hash.encode()):
            return Caller(entry.name, entry.role)
    return None


def role_for(token: bytes, settings: Settings) -> str | None:
    """The role of a key, or None for an unknown key."""
    caller = identify(token, settings)
    return caller.role if caller else None


def bearer(headers: list[tuple[bytes, bytes]], max_bytes: int) -> bytes | None:
    """The token of the one `Authorization: Bearer <token>` header, or None when it is missing,
    repeated, longer than `max_bytes` or holds bytes other than visible ASCII."""
    values = [v for k, v in headers if k.lower() == b"authorization"]
    if len(values) != 1 or len(values[0]) > max_bytes:
        return None
    scheme, _, token = values[0].partition(b" ")
    token = token.strip(b" ")
    if scheme.lower() != b"bearer" or not token or any(b < 0x21 or b > 0x7E for b in token):
        return None
    return token


def session_value(caller: Caller, settings: Settings) -> str | None:
    """A dashboard session cookie for `caller`, signed with its stored key hash: revoking the key
    ends its sessions too, and no key ever sits in a cookie."""
    secret = _session_secret(caller.name, settings)
    if secret is None:
        return None
    return f"{caller.name}.{hmac.new(secret, caller.name.encode(), hashlib.sha256).hexdigest()}"


def caller_from_session(value: str, settings: Settings) -> Caller | None:
    """The caller of a session cookie made by `session_value`, or None."""
    name, _, signature = value.rpartition(".")
    secret = _session_secret(name, settings) if name else None
    if secret is None:
        return None
    expected = hmac.new(secret, name.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(signature.encode(), expected.encode()):
        return None
    if name == ENV_ADMIN:
        return Caller(ENV_ADMIN, "admin")
    return next((Caller(e.name, e.role) for e in stored_keys(settings) if e.name == name), None)


def _session_secret(name: str, settings: Settings) -> bytes | None:
    if name == ENV_ADMIN:
        admin = settings.api_key
        return hash_key(admin.encode()).encode() if admin else None
    return next((e.hash.encode() for e in stored_keys(settings) if e.name == name), None)
