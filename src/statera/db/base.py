"""The declarative base, constraint naming and the column aliases every table uses.

Timestamps are stored timezone-naive in UTC (SQLite has no time zones) and
rendered by the API as Octavia does (ISO-8601 without offset).
"""

import uuid
from datetime import UTC, datetime
from typing import Annotated

from sqlalchemy import MetaData, String
from sqlalchemy.orm import DeclarativeBase, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def new_id() -> str:
    return str(uuid.uuid4())


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


uuid_pk = Annotated[str, mapped_column(String(36), primary_key=True, default=new_id)]
uuid_col = Annotated[str, mapped_column(String(36))]
name_col = Annotated[str | None, mapped_column(String(255))]
created_at = Annotated[datetime, mapped_column(default=utcnow)]
updated_at = Annotated[datetime | None, mapped_column(default=None)]
