"""SQL functions that differ between SQLite and PostgreSQL, as SQLAlchemy constructs."""

from typing import Any

from sqlalchemy import String
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement


class iso_seconds(FunctionElement[str]):
    """A timestamp as Octavia shows it, `2016-12-11T00:00:00` (seconds, truncated); NULL stays NULL.

    Formatting in the database spares parsing the stored value into a Python
    datetime and formatting it back, per timestamp per row of every list.
    """

    type = String()
    name = "iso_seconds"
    inherit_cache = True


@compiles(iso_seconds, "sqlite")
def _iso_seconds_sqlite(element: iso_seconds, compiler: SQLCompiler, **kw: Any) -> str:
    return f"strftime('%Y-%m-%dT%H:%M:%S', {compiler.process(element.clauses, **kw)})"


@compiles(iso_seconds, "postgresql")
def _iso_seconds_postgresql(element: iso_seconds, compiler: SQLCompiler, **kw: Any) -> str:
    return f"to_char({compiler.process(element.clauses, **kw)}, 'YYYY-MM-DD\"T\"HH24:MI:SS')"
