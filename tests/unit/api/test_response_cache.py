"""The response cache: one marker at a time, bounded, never keeping an answer older than its marker."""

from __future__ import annotations

from pathlib import Path

from statera.api.response_cache import MAX_BODY_BYTES, ResponseCache
from statera.db.session import Database


def test_an_answer_is_given_again_while_the_marker_stays() -> None:
    cache = ResponseCache(4)
    assert cache.get("k", 1) is None
    cache.put("k", 1, b"body")
    assert cache.get("k", 1) == b"body"


def test_a_new_marker_forgets_everything() -> None:
    cache = ResponseCache(4)
    cache.get("k", 1)
    cache.put("k", 1, b"old")
    assert cache.get("k", 2) is None
    assert cache.get("k", 1) is None  # an old marker again (a reader that began earlier)


def test_an_answer_read_under_an_old_marker_is_not_kept() -> None:
    cache = ResponseCache(4)
    cache.get("slow", 1)  # a reader takes marker 1 ...
    cache.get("fast", 2)  # ... meanwhile something commits and another reader sees 2
    cache.put("slow", 1, b"maybe stale")
    assert cache.get("slow", 2) is None


def test_the_least_recently_used_answer_goes_first() -> None:
    cache = ResponseCache(2)
    cache.get("a", 1)
    for key in ("a", "b"):
        cache.put(key, 1, key.encode())
    assert cache.get("a", 1) == b"a"  # a is now the most recent
    cache.put("c", 1, b"c")
    assert cache.get("b", 1) is None
    assert cache.get("a", 1) == b"a" and cache.get("c", 1) == b"c"


def test_huge_answers_are_not_kept() -> None:
    cache = ResponseCache(2)
    cache.get("big", 1)
    cache.put("big", 1, b"x" * (MAX_BODY_BYTES + 1))
    assert cache.get("big", 1) is None


def test_the_marker_moves_on_every_commit_of_any_connection(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'db.sqlite'}")
    try:
        with db.write() as session:
            session.connection().exec_driver_sql("CREATE TABLE t (x INTEGER)")
        first = db.change_marker()
        assert first is not None and db.change_marker() == first
        with db.read() as session:
            session.connection().exec_driver_sql("SELECT * FROM t").all()
        assert db.change_marker() == first  # reading changes nothing
        with db.write() as session:
            session.connection().exec_driver_sql("INSERT INTO t VALUES (1)")
        second = db.change_marker()
        assert second is not None and second != first
    finally:
        db.dispose()


def test_no_marker_before_the_database_file_exists(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'not-yet.sqlite'}")
    try:
        assert db.change_marker() is None
    finally:
        db.dispose()
