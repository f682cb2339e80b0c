"""Click commands of the `statera` CLI; each loads settings once and passes them down."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from statera.settings import Settings, SettingsError, load_settings

CONFIG_HELP = "INI configuration file (default: built-in defaults; see etc/statera.conf.example)."


def _settings(config: Path | None) -> Settings:
    try:
        return load_settings(config)
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="statera")
def cli() -> None:
    """Statera: load balancing as a service with OpenStack Octavia's v2 API."""


@cli.command()
@click.option("--config", type=click.Path(path_type=Path), default=None, help=CONFIG_HELP)
def up(config: Path | None) -> None:
    """Run the API, the controller and the status reader in the foreground (Ctrl-C stops)."""
    from statera.runtime.logging import setup_logging
    from statera.runtime.service import HostNotReady, run

    settings = _settings(config)
    setup_logging(debug=settings.default.debug)
    try:
        run(settings)
    except HostNotReady as exc:
        for line in str(exc).splitlines():
            click.echo(f"statera: {line}", err=True)
        sys.exit(1)


@cli.group()
def db() -> None:
    """Database schema commands."""


@db.command("upgrade")
@click.option("--config", type=click.Path(path_type=Path), default=None, help=CONFIG_HELP)
@click.option("--revision", default="head", show_default=True)
def db_upgrade(config: Path | None, revision: str) -> None:
    """Migrate the database to the latest schema (Alembic)."""
    from statera.db import migrate

    settings = _settings(config)
    settings.default.state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    migrate.upgrade(settings.database_url, revision=revision)
    click.echo(f"database at {revision}")


@db.command("check")
@click.option("--config", type=click.Path(path_type=Path), default=None, help=CONFIG_HELP)
def db_check(config: Path | None) -> None:
    """Fail if the models and the migrations disagree (alembic check)."""
    from statera.db import migrate

    migrate.check(_settings(config).database_url)
    click.echo("models and migrations agree")


@cli.command(context_settings={"ignore_unknown_options": True})
def agent() -> None:
    """The amphora agent (started by the compute driver: `statera agent --config FILE`)."""


@cli.group()
def demo() -> None:
    """Demo HTTP backends on a tenant network, to have something to balance."""


@demo.command("start")
@click.option("--config", type=click.Path(path_type=Path), default=None, help=CONFIG_HELP)
@click.option("--network", default="private", show_default=True)
@click.option("--count", default=2, show_default=True, type=click.IntRange(1, 20))
@click.option("--port", default=80, show_default=True, type=click.IntRange(1, 65535))
def demo_start(config: Path | None, network: str, count: int, port: int) -> None:
    """Start COUNT backends, each in its own namespace on NETWORK's bridge."""
    from statera.demo.backends import start_backends
    from statera.network.bridges import BridgeNetworkDriver

    settings = _settings(config)
    BridgeNetworkDriver(settings).ensure_host_networks()
    for b in start_backends(settings, network=network, count=count, port=port):
        click.echo(f"{b.name}\t{b.address}:{port}\tnamespace {b.namespace}\tpid {b.pid}")


@demo.command("stop")
@click.option("--config", type=click.Path(path_type=Path), default=None, help=CONFIG_HELP)
def demo_stop(config: Path | None) -> None:
    """Stop every demo backend and remove its namespace."""
    from statera.demo.backends import stop_backends

    stop_backends(_settings(config))
    click.echo("demo backends stopped")
