"""Engine and sessions from the database URL; the one `transaction()` helper.

SQLite runs in WAL mode with a busy timeout and `BEGIN IMMEDIATE` for every
write transaction, so the API and the controller threads serialise on the
database instead of failing with "database is locked". PostgreSQL uses row
locks (`SELECT ... FOR UPDATE`) where the code asks for them.
"""

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker


def make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"timeout": 30, "check_same_thread": False},
            pool_size=8,
            max_overflow=16,
        )

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            # Let SQLAlchemy, not pysqlite, decide when transactions begin.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Any) -> None:
            readonly = conn.get_execution_options().get("statera_readonly", False)
            conn.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")

        return engine
    return create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)


class Database:
    """The engine and two session factories: writers and readers.

    On SQLite readers start a plain (deferred) transaction so that they never
    wait for a writer; writers start `BEGIN IMMEDIATE`. On PostgreSQL both are
    ordinary transactions.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        database = self.engine.url.database if self.is_sqlite else None
        self._marker_path = database if database and database != ":memory:" else None
        self._marker_conn: sqlite3.Connection | None = None
        self._marker_lock = threading.Lock()
        self._writer = sessionmaker(self.engine, expire_on_commit=False)
        # Readers unpack rows by position or by name, never by column object, so the
        # per-execution re-keying of a cached statement's result map (costly for wide
        # ORM-annotated column lists: most of a small query's time) can be skipped.
        self._reader = sessionmaker(
            self.engine.execution_options(
                statera_readonly=True, _result_disable_adapt_to_context=True
            ),
            expire_on_commit=False,
        )

    @contextmanager
    def write(self) -> Iterator[Session]:
        """One unit of work: commit on success, roll back on any exception."""
        with self._writer() as session, session.begin():
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only unit of work (rolled back at the end)."""
        with self._reader() as session:
            try:
                yield session
            finally:
                session.rollback()

    def change_marker(self) -> int | None:
        """A number that changes whenever anything commits to the database; None if unknown.

        On SQLite it is `PRAGMA data_version` of a connection of its own that
        never writes: SQLite changes that value whenever another connection
        (of this process or any other) commits. Read it before a read
        transaction starts and the data read is at least as new as the marker,
        so a result stored under a marker is never older than it. PostgreSQL
        has no such counter: None (callers then do not cache).
        """
        if self._marker_path is None:
            return None
        with self._marker_lock:
            try:
                if self._marker_conn is None:
                    self._marker_conn = sqlite3.connect(
                        f"{Path(self._marker_path).resolve().as_uri()}?mode=ro",
                        uri=True,
                        isolation_level=None,
                        check_same_thread=False,
                    )
                value = self._marker_conn.execute("PRAGMA data_version").fetchone()[0]
            except sqlite3.Error:  # no database file yet: nothing to vouch for
                return None
        return int(value)

    def dispose(self) -> None:
        with self._marker_lock:
            if self._marker_conn is not None:
                self._marker_conn.close()
                self._marker_conn = None
        self.engine.dispose()
