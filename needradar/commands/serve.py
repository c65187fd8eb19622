"""`needradar serve`: start the BentoML service."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from core.config import REPO_ROOT

LOOPBACK = ("127.0.0.1", "::1", "localhost")


def bentoml_command(host: str, port: int, config: Path | None = None, insecure: bool = False) -> list[str]:
    """The `bentoml serve` command line for the service, from the repository root.

    The config file and `--insecure` reach the service as BentoML arguments (`--arg`), not
    through environment variables; the API key stays in the environment it was set in.
    """
    args = [
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
    if config is not None:
        args += ["--arg", f"config={Path(config).resolve()}"]
    if insecure:
        args += ["--arg", "insecure=true"]
    return args


def serve(
    port: Annotated[int | None, typer.Option(help="Port (default from config).")] = None,
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    insecure: Annotated[
        bool, typer.Option(help="No keys needed (local use only: binds to loopback).")
    ] = False,
) -> None:
    """Start the scoring and forecasting HTTP service with the current champions."""
    from core.errors import NeedradarError
    from needradar.commands._common import config_path, console, settings
    from serving.auth import stored_keys

    cfg = settings()
    if insecure and host not in LOOPBACK:
        raise NeedradarError(f"--insecure serves without keys, so it binds to loopback only, not {host}")
    if not cfg.api_key and not stored_keys(cfg) and not insecure:
        raise NeedradarError(
            f"{cfg.serving.api_key_env} is not set and no key was added with `needradar keys add`; "
            "set one, or pass --insecure for local use"
        )
    port = port or cfg.serving.port
    console.print(f"dashboard: http://{host}:{port}/ui   API docs: http://{host}:{port}/docs")
    args = bentoml_command(host, port, config_path(), insecure)
    os.execvp(args[0], args)
