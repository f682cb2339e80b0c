"""One page of any collection: filters, tag filters, keyset pagination, sorting.

The API parses the query string into a `PageRequest` of SQL expressions;
this module turns it into one SELECT. Pagination is by keyset: the marker
row's sort values bound the next page (`(k1 > m1) OR (k1 = m1 AND k2 > m2)
...`), so a page costs the same wherever it is. Sort expressions must not be
NULL (callers wrap nullable columns in COALESCE), or rows would vanish from
the comparison.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    ColumnElement,
    and_,
    func,
    not_,
    or_,
    select,
)
from sqlalchemy.orm import QueryableAttribute, Session

from statera.db.models import Tag
from statera.domain.errors import InvalidSpec

Expression = ColumnElement[Any] | QueryableAttribute[Any]
"""A column or SQL expression to filter or sort on."""


@dataclass(frozen=True)
class TagFilter:
    """Octavia's four tag filters; each tuple empty when not given."""

    all_of: tuple[str, ...] = ()
    any_of: tuple[str, ...] = ()
    not_all_of: tuple[str, ...] = ()
    not_any_of: tuple[str, ...] = ()


@dataclass(frozen=True)
class SortKey:
    expression: Expression
    descending: bool = False


@dataclass(frozen=True)
class PageRequest:
    scope: Sequence[ColumnElement[bool]] = ()
    """What the caller may see at all (not DELETED, members of one pool); binds the marker."""
    where: Sequence[ColumnElement[bool]] = ()
    """The client's filters."""
    sort: Sequence[SortKey] = ()
    limit: int | None = None
    marker: str | None = None
    tags: TagFilter = field(default_factory=TagFilter)


def _has_all(id_column: Expression, tags: tuple[str, ...]) -> ColumnElement[bool]:
    wanted = set(tags)
    subquery = (
        select(Tag.resource_id)
        .where(Tag.tag.in_(wanted))
        .group_by(Tag.resource_id)
        .having(func.count(Tag.tag) == len(wanted))
    )
    return id_column.in_(subquery)


def _has_any(id_column: Expression, tags: tuple[str, ...]) -> ColumnElement[bool]:
    return id_column.in_(select(Tag.resource_id).where(Tag.tag.in_(set(tags))))


def tag_conditions(id_column: Expression, tags: TagFilter) -> list[ColumnElement[bool]]:
    out: list[ColumnElement[bool]] = []
    if tags.all_of:
        out.append(_has_all(id_column, tags.all_of))
    if tags.any_of:
        out.append(_has_any(id_column, tags.any_of))
    if tags.not_all_of:
        out.append(not_(_has_all(id_column, tags.not_all_of)))
    if tags.not_any_of:
        out.append(not_(_has_any(id_column, tags.not_any_of)))
    return out


def _after(sort: Sequence[SortKey], marker: Sequence[Any]) -> ColumnElement[bool]:
    """Rows strictly after the marker's position in the sort order."""
    alternatives: list[ColumnElement[bool]] = []
    for i, key in enumerate(sort):
        equal_before = [sort[j].expression == marker[j] for j in range(i)]
        beyond = key.expression < marker[i] if key.descending else key.expression > marker[i]
        alternatives.append(and_(*equal_before, beyond))
    return or_(*alternatives)


def fetch_page(
    session: Session,
    columns: Sequence[Expression],
    *,
    id_column: Expression,
    request: PageRequest,
) -> Sequence[Any]:
    """`columns` of the rows matching `request`, in its sort order, at most `limit`."""
    conditions = [*request.scope, *request.where, *tag_conditions(id_column, request.tags)]
    connection = session.connection()
    if request.marker is not None:
        marker_row = connection.execute(
            select(*(k.expression for k in request.sort)).where(
                id_column == request.marker, *request.scope
            )
        ).first()
        if marker_row is None:
            raise InvalidSpec(f"Supplied pagination marker '{request.marker}' is not valid.")
        conditions.append(_after(request.sort, tuple(marker_row)))
    query = select(*columns).where(*conditions)
    query = query.order_by(
        *(k.expression.desc() if k.descending else k.expression.asc() for k in request.sort)
    )
    if request.limit is not None:
        query = query.limit(request.limit)
    return connection.execute(query).all()
