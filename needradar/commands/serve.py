"""`needradar serve`: start the BentoML service."""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from core.config import REPO_ROOT

LOOPBACK = ("127.0.0.1", "::1", "localhost")


def bentoml_command(host: str, port: int) -> list[str]:
    """The `bentoml serve` command line for the service, from the repository root."""
    return [
        sys.executable,
        "-m",
        "bentoml",
        "serve",
        "serving.service:NeedRadar",
        "--host",
        host,
        "--port",
        str(port),
        "--working-dir",
        str(REPO_ROOT),
    ]


def serve(
    port: Annotated[int | None, typer.Option(help="Port (default from config).")] = None,
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    insecure: Annotated[
        bool, typer.Option(help="No keys needed (local use only: binds to loopback).")
    ] = False,
) -> None:
    """Start the scoring and forecasting HTTP service with the current champions."""
    from core.errors import NeedradarError
    from needradar.commands._common import settings
    from serving.auth import stored_keys

    cfg = settings()
    if insecure and host not in LOOPBACK:
        raise NeedradarError(f"--insecure serves without keys, so it binds to loopback only, not {host}")
    if not os.environ.get(cfg.serving.api_key_env) and not stored_keys(cfg) and not insecure:
        raise NeedradarError(
            f"{cfg.serving.api_key_env} is not set and no key was added with `needradar keys add`; "
            "set one, or pass --insecure for local use"
        )
    env = dict(os.environ, NEEDRADAR_INSECURE="1" if insecure else "0")
    args = bentoml_command(host, port or cfg.serving.port)
    os.execvpe(args[0], args, env)
