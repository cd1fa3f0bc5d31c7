"""The `papertrade` command group: options every command shares (--url, --json),
the context that holds the login and the consoles, and server refusals turned
into one line and exit status 1."""

from __future__ import annotations

import json
import sys
from decimal import Decimal
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from ..client import DEFAULT_URL, Client
from ..config import CliConfig
from ..errors import PapertradeError
from ..types import to_json


class Ctx:
    def __init__(self, url: str | None, as_json: bool) -> None:
        self.config = CliConfig.load()
        self.url = (url or self.config.url or DEFAULT_URL).rstrip("/")
        self.as_json = as_json
        # a pipe or a file gets wide tables rather than 80 columns of truncated cells
        self.out = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
        self.err = Console(stderr=True, highlight=False)

    def client(self, auth: bool = True) -> Client:
        token = self.config.token if auth and self._same_server() else None
        client = Client(self.url, token)
        if token and self.config.user:
            from ..types import User, parse

            client.user = parse(User, self.config.user)
        return client

    def _same_server(self) -> bool:
        return self.config.url is None or self.config.url.rstrip("/") == self.url

    def need_login(self) -> Client:
        client = self.client()
        if client.token is None:
            raise click.ClickException(f"not logged in at {self.url}: run `papertrade login USER_ID` first")
        return client

    def emit(self, data: Any, table: Table | str | None = None) -> None:
        if self.as_json or table is None:
            click.echo(json.dumps(to_json(data), indent=None if isinstance(data, list) else 2))
        else:
            self.out.print(table)


class Cli(click.Group):
    """Server refusals become one line on stderr and exit status 1, not a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except PapertradeError as exc:
            detail = f" (field {exc.field})" if exc.field else ""
            status = exc.status if exc.status is not None else "no answer"
            click.echo(f"error: {status} {exc.code}: {exc.message}{detail}", err=True)
            if exc.status == 401 and "revoked" in exc.message:
                click.echo("the instructor reset the simulation and signed everyone out: "
                           "run `papertrade login USER_ID` again", err=True)
            elif exc.status == 401 and exc.field != "password":
                click.echo("the kept token is not accepted (expired?): run `papertrade login USER_ID` again",
                           err=True)
            sys.exit(1)


pass_ctx = click.make_pass_decorator(Ctx)


@click.group(cls=Cli)
@click.option("--url", envvar="PAPERTRADE_URL", help="the exchange (default: the last login's, else localhost:8000)")
@click.option("--json", "as_json", is_flag=True, help="print JSON instead of tables")
@click.version_option(package_name="papertrade")
@click.pass_context
def cli(ctx: click.Context, url: str | None, as_json: bool) -> None:
    """papertrade from the command line: trade, watch, and load orders from files."""
    ctx.obj = Ctx(url, as_json)


def main() -> None:
    cli(prog_name="papertrade")


def plain(value: Decimal | None) -> str:
    """A decimal as the server wrote it (no exponent), or empty for none."""
    return "" if value is None else format(value, "f")
