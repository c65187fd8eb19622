"""`needradar privacy ...`: a customer's data, exported or erased."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer

from needradar.commands._common import console, emit_json, settings

app = typer.Typer(help="Export or erase everything stored about one customer.", no_args_is_help=True)


@app.command()
def export(
    customer: Annotated[str, typer.Option(help="The customer id.")],
    out: Annotated[Path | None, typer.Option(help="Write the JSON here instead of stdout.")] = None,
) -> None:
    """Everything stored about the customer, by file, as JSON."""
    from core.io import write_json
    from monitoring.privacy import export_customer

    found = export_customer(customer, settings())
    if out is None:
        emit_json(found)
    else:
        write_json(out, found)
        console.print(f"wrote what {len(found['files'])} file(s) hold about the customer to {out}")


@app.command()
def erase(
    customer: Annotated[str, typer.Option(help="The customer id.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Remove the customer from every file under the home folder and from later runs."""
    from monitoring.privacy import erase_customer

    report = erase_customer(customer, settings())
    if as_json:
        emit_json({"changed": report.changed, "not_editable": report.not_editable})
        return
    for rel, n in asdict(report)["changed"].items():
        console.print(f"{rel}: removed {n}")
    console.print(f"changed {len(report.changed)} file(s); the customer is on the suppression list")
    if report.not_editable:
        typer.echo(f"warning: binary files mention the customer: {', '.join(report.not_editable)}", err=True)
