"""`needradar keys ...`: API keys with roles (app, retention, planner, admin)."""

from __future__ import annotations

from typing import Annotated

import typer

from needradar.commands._common import console, emit_json, settings, table

app = typer.Typer(help="Add, list and revoke API keys with roles.", no_args_is_help=True)


@app.command()
def add(
    role: Annotated[str, typer.Option(help="app, retention, planner or admin.")],
    name: Annotated[str, typer.Option(help="Who holds the key (shown in the audit log).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Create a key; it is printed once and only its hash is stored."""
    from serving.auth import add_key

    key = add_key(settings(), name, role)
    if as_json:
        emit_json({"name": name, "role": role, "key": key})
    else:
        console.print(f"key for {name} ({role}); it is shown only now:")
        console.print(key, highlight=False, soft_wrap=True)


@app.command("list")
def list_(as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False) -> None:
    """Names, roles and creation times of the keys (never the keys)."""
    from serving.auth import keys_path, read_keys

    rows = [{"name": k.name, "role": k.role, "created": k.created} for k in read_keys(keys_path(settings()))]
    if as_json:
        emit_json(rows)
    elif not rows:
        console.print("no keys yet; add one with `needradar keys add --role ROLE --name NAME`")
    else:
        console.print(table("API keys", rows))


@app.command()
def revoke(name: Annotated[str, typer.Option(help="The key's name.")]) -> None:
    """Remove a key; running servers refuse it within seconds."""
    from serving.auth import revoke_key

    entry = revoke_key(settings(), name)
    console.print(f"revoked the {entry.role} key of {entry.name}")
