"""`needradar housekeeping`: apply the retention policy to the output folders."""

from __future__ import annotations

from typing import Annotated

import typer

from needradar.commands._common import console, emit_json, settings


def housekeeping(
    today: Annotated[str | None, typer.Option(help="Treat this day (YYYY-MM-DD) as today.")] = None,
    dry_run: Annotated[bool, typer.Option(help="Only list what would be removed.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Keep daily outputs for a week and one a month for a year (configurable); remove the rest."""
    from monitoring.housekeeping import housekeeping as run

    removed = run(settings(), today, dry_run)
    if as_json:
        emit_json({"removed": removed, "dry_run": dry_run})
    else:
        verb = "would remove" if dry_run else "removed"
        console.print(
            f"{verb} {len(removed)} output folder(s)" + (f": {', '.join(removed)}" if removed else "")
        )
