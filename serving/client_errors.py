"""Client errors (4xx) in the server log as one line each, not as a traceback.

BentoML logs every request that fails validation with the full traceback, as it does for a
crash. A bad request is the client's mistake, not the server's: one line with the path, the
status and what was wrong is enough, and keeps real crashes (5xx) visible in the log.
"""

from __future__ import annotations

import logging

BENTOML_LOGGER = "bentoml._internal.server.http_app"


def _status(exc: BaseException) -> int | None:
    """The HTTP status BentoML answers an exception with, when it is a client error."""
    from pydantic import ValidationError

    if isinstance(exc, ValidationError):
        return 400
    code = getattr(getattr(exc, "error_code", None), "value", None)
    return code if isinstance(code, int) and 400 <= code < 500 else None


class ClientErrorFilter(logging.Filter):
    """Turns a logged client error into one line; leaves everything else as it is."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        status = _status(exc) if exc is not None else None
        if status is not None:
            what = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            where = record.getMessage().removeprefix("Exception on ")
            record.msg, record.args = "client error %d on %s: %s", (status, where, what)
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            record.exc_info, record.exc_text = None, None
        return True


def log_client_errors_in_one_line() -> None:
    """Install the filter once (idempotent): called when the service starts, never at import."""
    target = logging.getLogger(BENTOML_LOGGER)
    if not any(isinstance(f, ClientErrorFilter) for f in target.filters):
        target.addFilter(ClientErrorFilter())
