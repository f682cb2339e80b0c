"""Ids of related rows for many parents at once, one query per kind (no N+1).

The statements are built once per (parent, child) pair with an expanding bind
parameter, so listing a page of a hundred objects neither rebuilds nor
recompiles SQL for each request.
"""

from collections import defaultdict
from collections.abc import Sequence
from functools import cache
from typing import Any

from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import InstrumentedAttribute, Session


@cache
def _statement(
    parent: InstrumentedAttribute[Any],
    child_id: InstrumentedAttribute[str],
    order_by: tuple[InstrumentedAttribute[Any], ...],
) -> Select[Any]:
    return (
        select(parent, child_id)
        .where(parent.in_(bindparam("parent_ids", expanding=True)))
        .order_by(*order_by)
    )


def ids_by_parent(
    session: Session,
    parent: InstrumentedAttribute[Any],
    child_id: InstrumentedAttribute[str],
    parent_ids: Sequence[str],
    *,
    order_by: tuple[InstrumentedAttribute[Any], ...] = (),
) -> dict[str, list[str]]:
    """`{parent_id: [child ids]}` for every child whose `parent` is in `parent_ids`."""
    out: dict[str, list[str]] = defaultdict(list)
    if not parent_ids:
        return out
    rows = session.connection().execute(
        _statement(parent, child_id, order_by), {"parent_ids": list(parent_ids)}
    )
    for parent_id, child in rows:
        out[parent_id].append(child)
    return out
