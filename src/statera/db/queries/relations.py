"""What hangs off many parents at once: child ids and tags, in one query (no N+1).

A page of a hundred load balancers needs the ids of their listeners and pools
and their tags. `children` fetches all of that in one UNION ALL, with the
parent ids bound as ONE parameter (a JSON array read by `json_each` on
SQLite, an array compared with `= ANY` on PostgreSQL), so the statement is
built and compiled once per (dialect, relations) and never re-rendered for
the number of ids, as an expanding `IN` list would be.
"""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import orjson
from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    DateTime,
    String,
    any_,
    bindparam,
    cast,
    func,
    literal,
    null,
    select,
    union_all,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import InstrumentedAttribute, Session

from statera.db.models import Tag


@dataclass(frozen=True)
class Relation:
    """Children of a parent: `value` of the rows whose `parent` is the parent's id.

    `created` orders them (then `value`); None orders by `value` alone.
    """

    parent: InstrumentedAttribute[Any]
    value: InstrumentedAttribute[Any]
    created: InstrumentedAttribute[Any] | None = None


TAGS = Relation(Tag.resource_id, Tag.tag)
"""The tags of any object (sorted)."""


def _among(column: InstrumentedAttribute[Any], dialect: str) -> ColumnElement[bool]:
    """`column` is one of the ids bound as `parent_ids` (see `_bind`)."""
    if dialect == "postgresql":
        return column == any_(cast(bindparam("parent_ids"), ARRAY(String)))
    ids = func.json_each(bindparam("parent_ids")).table_valued("value")
    return column.in_(select(ids.c.value))


def _bind(parent_ids: Sequence[str], dialect: str) -> Any:
    return list(parent_ids) if dialect == "postgresql" else orjson.dumps(list(parent_ids)).decode()


@cache
def _statement(relations: tuple[Relation, ...], dialect: str) -> CompoundSelect[Any]:
    branches = []
    for kind, relation in enumerate(relations):
        created: ColumnElement[Any] = (
            null().cast(DateTime()) if relation.created is None else relation.created
        )
        branches.append(
            select(
                literal(kind).label("kind"),
                relation.parent.label("parent"),
                created.label("created"),
                relation.value.label("value"),
            ).where(_among(relation.parent, dialect))
        )
    statement = union_all(*branches)
    return statement.order_by(
        *(statement.selected_columns[k] for k in ("kind", "created", "value"))
    )


def children(
    session: Session, parent_ids: Sequence[str], relations: tuple[Relation, ...]
) -> list[dict[str, list[Any]]]:
    """For each of `relations`, `{parent_id: [values in order]}`; parents without any are absent."""
    out: list[dict[str, list[Any]]] = [defaultdict(list) for _ in relations]
    if not parent_ids:
        return out
    connection = session.connection()
    dialect = connection.dialect.name
    rows = connection.execute(
        _statement(relations, dialect), {"parent_ids": _bind(parent_ids, dialect)}
    )
    for kind, parent, _created, value in rows:
        out[kind][parent].append(value)
    return out
