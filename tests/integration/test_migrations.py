"""Migrations are the truth: they build the models' schema exactly, and go down and up again."""

from __future__ import annotations

import os

import pytest
from alembic import command

from statera.db import migrate

PG_ENV = "STATERA_TEST_PG_URL"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, tmp_path: object) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/m.db"
    if not os.environ.get(PG_ENV):
        pytest.skip(f"{PG_ENV} not set")
    return str(request.getfixturevalue("postgres_url"))


def test_models_match_migrations_and_downgrade_works(url: str) -> None:
    if "postgresql" in url:
        command.downgrade(migrate.alembic_config(url), "base")
    migrate.upgrade(url)
    migrate.check(url)  # raises if autogenerate would find a difference
    command.downgrade(migrate.alembic_config(url), "base")
    migrate.upgrade(url)
    migrate.check(url)
