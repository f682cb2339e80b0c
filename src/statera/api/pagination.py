"""List query strings in, a `PageRequest` and `<collection>_links` out (Octavia §1.3).

`limit`, `marker`, `page_reverse`; `sort=k1:asc,k2` or `sort_key`/`sort_dir`
(`created_at` and `id` always appended as tie-breakers); any top-level
attribute as a filter (repeated: any of the values); `tags`, `tags-any`,
`not-tags`, `not-tags-any` (comma lists or repeated); `fields`. An unknown
sort key, direction, filter or marker is a 400, as in Octavia.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import ColumnElement, false, func, literal, or_, true
from starlette.datastructures import QueryParams
from starlette.requests import Request

from statera.db.queries.listing import Expression, PageRequest, SortKey, TagFilter
from statera.domain.errors import InvalidSpec
from statera.settings import ApiSettings

PAGING_KEYS = frozenset({"limit", "marker", "page_reverse"})
RESERVED_KEYS = PAGING_KEYS | frozenset(
    {"sort", "sort_key", "sort_dir", "fields", "tags", "tags-any", "not-tags", "not-tags-any"}
)
_TRUE = frozenset({"true", "1", "yes", "on", "t", "y"})
_FALSE = frozenset({"false", "0", "no", "off", "f", "n"})


def _invalid_filter(name: str) -> InvalidSpec:
    return InvalidSpec(f"One or more arguments are either duplicate or invalid: {name}")


def parse_bool(name: str, value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise _invalid_filter(name)


def _parse_int(name: str, value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise _invalid_filter(name) from None


def _parse_float(name: str, value: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise _invalid_filter(name) from None


def _parse_time(name: str, value: str) -> datetime:
    try:
        return datetime.fromisoformat(value.rstrip("Z")).replace(tzinfo=None)
    except ValueError:
        raise _invalid_filter(name) from None


def _parse_text(_name: str, value: str) -> str:
    return value


@dataclass(frozen=True)
class Attribute:
    """A top-level attribute clients may filter and sort on."""

    expression: ColumnElement[Any] | None
    """The SQL value to sort on (NULL-free); None for an attribute constant in this release."""
    parse: Callable[[str, str], Any] = _parse_text
    constant: Any = None
    column: Any = None
    """The plain column to filter on (so its index serves); default: `expression`."""

    def condition(self, name: str, values: Sequence[str]) -> ColumnElement[bool]:
        if self.expression is None:
            shown = "" if self.constant is None else str(self.constant)
            return true() if shown in values else false()
        target = self.expression if self.column is None else self.column
        parsed = [self.parse(name, v) for v in values]
        conditions: list[ColumnElement[bool]] = []
        if self.column is not None and "" in parsed:
            conditions.append(self.column.is_(None))  # null renders as ""
        conditions.append(target == parsed[0] if len(parsed) == 1 else target.in_(parsed))
        return or_(*conditions) if len(conditions) > 1 else conditions[0]


def text(column: Any) -> Attribute:
    return Attribute(func.coalesce(column, literal("")), column=column)


def number(column: Any) -> Attribute:
    return Attribute(column, _parse_int)


def nullable_number(column: Any) -> Attribute:
    return Attribute(func.coalesce(column, literal(-1)), _parse_int, column=column)


def decimal(column: Any) -> Attribute:
    return Attribute(func.coalesce(column, literal(0.0)), _parse_float, column=column)


def boolean(column: Any) -> Attribute:
    return Attribute(column, parse_bool)


def timestamp(column: Any, *, fallback: Any = None) -> Attribute:
    expression = column if fallback is None else func.coalesce(column, fallback)
    return Attribute(expression, _parse_time, column=column)


def constant(value: Any) -> Attribute:
    return Attribute(None, constant=value)


@dataclass(frozen=True)
class Collection:
    """What a list endpoint can filter and sort: Octavia's names → SQL."""

    name: str
    columns: tuple[Any, ...]
    """What the list selects: the view's columns (`api/views.py`)."""
    id_column: Expression
    created_column: Expression
    attributes: Mapping[str, Attribute]


@dataclass(frozen=True)
class ListQuery:
    page: PageRequest
    limit: int
    marker: str | None
    page_reverse: bool
    fields: tuple[str, ...] | None
    link_params: tuple[tuple[str, str], ...]


def _split(params: QueryParams, key: str) -> tuple[str, ...]:
    out: list[str] = []
    for value in params.getlist(key):
        out.extend(v.strip() for v in value.split(",") if v.strip())
    return tuple(out)


def parse_fields(params: QueryParams) -> tuple[str, ...] | None:
    fields = _split(params, "fields")
    return fields or None


def select_fields(doc: dict[str, Any], fields: tuple[str, ...] | None) -> dict[str, Any]:
    if fields is None:
        return doc
    return {k: v for k, v in doc.items() if k in fields}


def _limit(params: QueryParams, settings: ApiSettings) -> int:
    cap = settings.pagination_max_limit
    raw = params.get("limit")
    if raw is None or raw.strip().lower() == "infinite":
        return cap
    try:
        value = int(raw)
    except ValueError:
        raise InvalidSpec(f"Supplied pagination limit '{raw}' is not valid.") from None
    return cap if value < 1 else min(value, cap)


def _sort(params: QueryParams, collection: Collection) -> list[tuple[str, bool]]:
    keys: list[tuple[str, str]] = []
    if "sort" in params:
        for item in _split(params, "sort"):
            key, _, direction = item.partition(":")
            keys.append((key.strip(), direction.strip() or "asc"))
    elif "sort_key" in params:
        names = _split(params, "sort_key")
        directions = _split(params, "sort_dir")
        keys = [
            (name, directions[i] if i < len(directions) else "asc") for i, name in enumerate(names)
        ]
    out: list[tuple[str, bool]] = []
    for key, direction in keys:
        attribute = collection.attributes.get(key)
        if attribute is None or attribute.expression is None:
            raise InvalidSpec(f"Supplied sort key '{key}' is not valid.")
        if direction.lower() not in ("asc", "desc"):
            raise InvalidSpec(f"Supplied sort direction '{direction}' is not valid.")
        out.append((key, direction.lower() == "desc"))
    return out


def parse_list_query(
    params: QueryParams,
    collection: Collection,
    *,
    settings: ApiSettings,
    scope: Sequence[ColumnElement[bool]] = (),
) -> ListQuery:
    limit = _limit(params, settings)
    marker = params.get("marker") or None
    page_reverse = params.get("page_reverse", "false").strip().lower() in _TRUE
    requested = _sort(params, collection) if settings.allow_sorting else []
    sort = [
        SortKey(expr, desc)
        for name, desc in requested
        if (expr := collection.attributes[name].expression) is not None
    ]
    names = {name for name, _ in requested}
    if "created_at" not in names:
        sort.append(SortKey(collection.created_column))
    if "id" not in names:
        sort.append(SortKey(collection.id_column))
    if page_reverse:
        sort = [SortKey(k.expression, not k.descending) for k in sort]
    where: list[ColumnElement[bool]] = []
    if settings.allow_filtering:
        for name in dict.fromkeys(params.keys()):
            if name in RESERVED_KEYS:
                continue
            attribute = collection.attributes.get(name)
            if attribute is None:
                raise _invalid_filter(name)
            where.append(attribute.condition(name, params.getlist(name)))
    tags = TagFilter(
        all_of=_split(params, "tags"),
        any_of=_split(params, "tags-any"),
        not_all_of=_split(params, "not-tags"),
        not_any_of=_split(params, "not-tags-any"),
    )
    link_params = tuple((k, v) for k, v in params.multi_items() if k not in PAGING_KEYS)
    return ListQuery(
        page=PageRequest(
            scope=scope,
            where=where,
            sort=sort,
            limit=limit if settings.allow_pagination else None,
            marker=marker if settings.allow_pagination else None,
            tags=tags,
        ),
        limit=limit,
        marker=marker,
        page_reverse=page_reverse,
        fields=parse_fields(params) if settings.allow_field_selection else None,
        link_params=link_params,
    )


def links(
    request: Request, query: ListQuery, ids: Sequence[str], *, settings: ApiSettings
) -> list[dict[str, str]]:
    """`next` when the page is full, `previous` when a marker was given (Octavia's rule)."""
    if not ids or not settings.allow_pagination:
        return []
    if settings.api_base_uri:
        base = settings.api_base_uri.rstrip("/") + request.url.path
    else:
        base = str(request.url.replace(query=""))
    common = [("limit", str(query.limit)), *query.link_params]
    out: list[dict[str, str]] = []
    if query.marker is not None:
        params = urlencode([*common, ("marker", ids[0]), ("page_reverse", "True")])
        out.append({"href": f"{base}?{params}", "rel": "previous"})
    if len(ids) == query.limit:
        params = urlencode([*common, ("marker", ids[-1])])
        out.append({"href": f"{base}?{params}", "rel": "next"})
    return out
