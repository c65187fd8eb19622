"""`needradar serve`: start the BentoML service."""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from core.config import REPO_ROOT


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
        bool, typer.Option(help="Allow starting without NEEDRADAR_API_KEY (no auth).")
    ] = False,
) -> None:
    """Start the scoring and forecasting HTTP service with the current champions."""
    from core.errors import NeedradarError
    from needradar.commands._common import console, settings

    cfg = settings()
    if not os.environ.get(cfg.serving.api_key_env) and not insecure:
        raise NeedradarError(
            f"{cfg.serving.api_key_env} is not set; set an API key, or pass --insecure for local use"
        )
    env = dict(os.environ, NEEDRADAR_INSECURE="1" if insecure else "0")
    port = port or cfg.serving.port
    console.print(f"dashboard: http://{host}:{port}/ui   API docs: http://{host}:{port}/docs")
    args = bentoml_command(host, port)
    os.execvpe(args[0], args, env)
