"""Commands for the login: log in (keeping the token), log out, list users."""

from __future__ import annotations

import sys

import click
from rich.table import Table

from ..client import Client
from ..config import CliConfig, config_path
from ..errors import PapertradeError
from ..types import to_json
from .app import Ctx, cli, pass_ctx


@cli.command()
@click.argument("user_id", type=int)
@click.option("--password", envvar="PAPERTRADE_PASSWORD", help="instructors need one (demo traders do not)")
@pass_ctx
def login(c: Ctx, user_id: int, password: str | None) -> None:
    """Log in as USER_ID and keep the token for the next commands."""
    client = Client(c.url)
    try:
        session = client.login(user_id, password)
    except PapertradeError as exc:
        if exc.status == 401 and exc.field == "password" and password is None and sys.stdin.isatty():
            session = client.login(user_id, click.prompt("password", hide_input=True))
        else:
            raise
    c.config = CliConfig(url=c.url, token=session.token, user=to_json(session.user))
    path = c.config.save()
    if c.as_json:
        c.emit({"user": to_json(session.user), "url": c.url, "config": str(path)})
    else:
        c.out.print(f"logged in as {session.user.name} (user {session.user.id}, {session.user.role}) "
                    f"at {c.url}; token kept in {path}")


@cli.command()
@pass_ctx
def logout(c: Ctx) -> None:
    """Forget the kept token."""
    CliConfig(url=c.config.url).save()
    c.out.print(f"logged out ({config_path()})")


@cli.command()
@pass_ctx
def users(c: Ctx) -> None:
    """Every user: id, name, role."""
    rows = c.client(auth=False).users()
    table = Table("id", "name", "role")
    for u in rows:
        table.add_row(str(u.id), u.name, u.role)
    c.emit(rows, table)
