"""Fixtures shared by the whole suite: settings, a migrated database, an API client.

`database` runs every test that uses it twice when `STATERA_TEST_PG_URL` is set:
once on a fresh SQLite file (copied from one migrated template per session),
once on PostgreSQL (a database created for this session, migrated once,
truncated after each test and dropped at the end). Without the variable only
SQLite runs.

`client` speaks to the ASGI app in-process through `httpx.ASGITransport`,
driven from synchronous tests by an anyio blocking portal (Starlette's
TestClient is deprecated).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio.from_thread
import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from statera.db import migrate
from statera.db.base import Base
from statera.db.session import Database
from statera.settings import Settings, load_settings

PG_ENV = "STATERA_TEST_PG_URL"
TEST_NETWORK = """
[network:private]
cidr = 10.0.0.0/24
gateway = 10.0.0.1
allocation_pool_start = 10.0.0.10
allocation_pool_end = 10.0.0.20
"""


def _backends() -> list[Any]:
    backends: list[Any] = ["sqlite"]
    if os.environ.get(PG_ENV):
        backends.append(pytest.param("postgres", marks=pytest.mark.postgres))
    return backends


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "statera.db"
    migrate.upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    base = make_url(os.environ[PG_ENV])
    name = f"statera_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = base.set(database=name).render_as_string(hide_password=False)
    try:
        migrate.upgrade(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _truncate(database: Database) -> None:
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with database.engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} CASCADE"))


@pytest.fixture(params=_backends())
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "sqlite":
        path = tmp_path / "statera.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        db = Database(f"sqlite:///{path}")
        try:
            yield db
        finally:
            db.dispose()
        return
    db = Database(request.getfixturevalue("postgres_url"))
    try:
        yield db
    finally:
        _truncate(db)
        db.dispose()


@pytest.fixture
def settings_overrides() -> str:
    """Extra INI text for `settings`; override in a module to change options."""
    return ""


@pytest.fixture
def state_dir() -> Iterator[Path]:
    """A short, private state directory (HAProxy limits the socket paths under it)."""
    path = Path(tempfile.mkdtemp(prefix="st-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def settings(state_dir: Path, database: Database, settings_overrides: str) -> Settings:
    return load_settings(
        overrides=(
            f"[DEFAULT]\nstate_dir = {state_dir}\n"
            f"[database]\nconnection = {database.url}\n"
            f"{TEST_NETWORK}\n{settings_overrides}"
        )
    )


class Client:
    """A synchronous httpx-like client over the ASGI app (no sockets)."""

    def __init__(self, app: Any, headers: dict[str, str] | None = None) -> None:
        self._portal_cm = anyio.from_thread.start_blocking_portal()
        self._portal = self._portal_cm.__enter__()
        self._client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://testserver",
            headers=headers,
        )

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        async def call() -> httpx.Response:
            return await self._client.request(method, url, **kwargs)

        return self._portal.call(call)

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def put(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("PUT", url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", url, **kwargs)

    def close(self) -> None:
        self._portal.call(self._client.aclose)
        self._portal_cm.__exit__(None, None, None)


@pytest.fixture
def changes() -> list[int]:
    """Records every `on_change` call of the app under test."""
    return []


@pytest.fixture
def app(settings: Settings, database: Database, changes: list[int]) -> Any:
    from statera.api.app import create_app

    return create_app(settings, database, on_change=lambda: changes.append(1))


@pytest.fixture
def client(app: Any) -> Iterator[Client]:
    c = Client(app, headers={"X-Project-Id": "project-a"})
    try:
        yield c
    finally:
        c.close()
