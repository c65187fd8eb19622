"""The ASGI middleware in front of the service: keys and roles, body size, and the audit log.

Order of checks: open paths pass; dashboard pages without a bearer header check their own
session cookie (`serving.auth.caller_from_session`); a missing, odd or unknown key gets 401; a key
whose role may not call the path gets 403 naming the role needed; a body larger than
`security.max_body_bytes` gets 413 before anything parses it. Every checked request leaves one JSON
line in the audit log: time, key name, role, path, status and how many customers the answer held,
never a key or a customer.
"""

from __future__ import annotations

import json
import logging
import os
import time
from typing import Any

from core import timing
from core.config import Settings
from serving.auth import Caller, allowed, bearer, checks_own_session, identify, is_open, required_role

logger = logging.getLogger("needradar.guard")
LOOPBACK = {"127.0.0.1", "::1", "localhost"}
CUSTOMERS_HEADER = b"x-needradar-customers"  # set by endpoints that return customers


class AuditLog:
    """Appends one JSON line per request; a line is one write, so workers never interleave.

    The file stays open between requests (an open and a close per request cost more than the
    write) and is opened again when it was moved or deleted (log rotation), checked at most once
    a second.
    """

    REOPEN_CHECK_SECONDS = 1.0

    def __init__(self, path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fd: int | None = None
        self._checked = 0.0

    def _file(self) -> int:
        now = time.monotonic()
        if self._fd is not None and now - self._checked >= self.REOPEN_CHECK_SECONDS:
            self._checked = now
            try:
                same = os.path.samestat(os.stat(self.path), os.fstat(self._fd))
            except FileNotFoundError:
                same = False
            if not same:
                os.close(self._fd)
                self._fd = None
        if self._fd is None:
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            self._checked = now
        return self._fd

    def write(
        self, caller: Caller | None, method: str, path: str, status: int, customers: int | None
    ) -> None:
        line = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "key": caller.name if caller else None,
            "role": caller.role if caller else None,
            "method": method,
            "path": path,
            "status": status,
            "customers": customers,
        }
        os.write(self._file(), (json.dumps(line) + "\n").encode())


async def _reply(send, status: int, body: dict, headers: list | None = None) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), *(headers or [])],
        }
    )
    await send({"type": "http.response.body", "body": json.dumps(body).encode()})


async def _read_body(scope, receive, limit: int) -> tuple[list[dict], bool]:
    """The request's body messages, and whether it stayed within `limit` bytes (stops reading
    as soon as it does not)."""
    headers = dict(scope.get("headers") or [])
    length = headers.get(b"content-length")
    if length is not None and (not length.isdigit() or int(length) > limit):
        return [], False
    messages, size = [], 0
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return messages, True
        size += len(message.get("body", b""))
        if size > limit:
            return messages, False
        if not message.get("more_body"):
            return messages, True


class GuardMiddleware:
    """Keys, roles, body limit and audit for every path but the open ones."""

    def __init__(self, app, settings: Settings | None = None, insecure: bool = False, **_: Any) -> None:
        from core.config import load_config

        self.app = app
        self.settings = settings or load_config()
        self.insecure = insecure
        self.audit = AuditLog(self.settings.resolve(self.settings.security.audit_log))

    async def __call__(self, scope, receive, send):
        path = scope.get("path", "")
        if scope["type"] != "http" or is_open(path):
            return await self.app(scope, receive, send)
        method = scope.get("method", "")
        clock = timing.start()
        try:
            await self._guarded(scope, receive, send, path, method)
        finally:
            timing.finish(clock, path)

    async def _guarded(self, scope, receive, send, path: str, method: str) -> None:
        caller, refusal = self._check(scope, path)
        timing.mark("checked")
        if refusal is not None:
            status, body = refusal
            headers = [(b"www-authenticate", b"Bearer")] if status == 401 else []
            self.audit.write(caller, method, path, status, None)
            return await _reply(send, status, body, headers)
        limit = self.settings.security.max_body_bytes
        messages, fits = await _read_body(scope, receive, limit)
        timing.mark("body_read")
        if not fits:
            self.audit.write(caller, method, path, 413, None)
            return await _reply(send, 413, {"error": f"request body over {limit} bytes", "field": None})
        scope.setdefault("state", {})["needradar_caller"] = caller
        answer: dict[str, Any] = {"status": 500, "customers": None}

        async def replay():
            return messages.pop(0) if messages else await receive()

        async def record(message):
            if message["type"] == "http.response.start":
                timing.mark("response_start")
                answer["status"] = message["status"]
                for k, v in message.get("headers") or []:
                    if k.lower() == CUSTOMERS_HEADER and v.isdigit():
                        answer["customers"] = int(v)
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                timing.mark("response_sent")

        try:
            await self.app(scope, replay, record)
        finally:
            self.audit.write(caller, method, path, answer["status"], answer["customers"])
            timing.mark("audit_written")

    def _check(self, scope, path: str) -> tuple[Caller | None, tuple[int, dict] | None]:
        if self.insecure:
            client = (scope.get("client") or ("",))[0]
            if client in LOOPBACK:
                return Caller("insecure", "admin"), None
            return None, (401, {"error": "the service runs --insecure: only loopback clients are served"})
        headers = scope.get("headers") or []
        if checks_own_session(path, any(k.lower() == b"authorization" for k, _ in headers)):
            return None, None
        token = bearer(headers, self.settings.security.max_header_bytes)
        caller = identify(token, self.settings) if token else None
        if caller is None:
            return None, (
                401,
                {"error": "missing or wrong API key; send Authorization: Bearer <key>"},
            )
        if not allowed(caller.role, path):
            need = required_role(path)
            return caller, (
                403,
                {
                    "error": f"the {caller.role} role may not call {path}; it needs the {need} role",
                    "role_needed": need,
                },
            )
        return caller, None
