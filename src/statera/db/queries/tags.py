"""Tags of any object, in the one `tag` table keyed by the object's id."""

from collections.abc import Iterable, Sequence

from sqlalchemy import delete
from sqlalchemy.orm import Session

from statera.db.models import Tag
from statera.db.queries import relations


def replace(session: Session, resource_id: str, tags: Sequence[str]) -> None:
    """Make `tags` (already de-duplicated) the tags of `resource_id`."""
    session.execute(delete(Tag).where(Tag.resource_id == resource_id))
    if tags:
        session.add_all(Tag(resource_id=resource_id, tag=t) for t in tags)


def add(session: Session, resource_id: str, tags: Sequence[str]) -> None:
    """Tag an object that has none yet (one created in this transaction)."""
    session.add_all(Tag(resource_id=resource_id, tag=t) for t in tags)


def remove(session: Session, resource_ids: Iterable[str]) -> None:
    ids = list(resource_ids)
    if ids:
        session.execute(delete(Tag).where(Tag.resource_id.in_(ids)))


def by_resource(session: Session, resource_ids: Sequence[str]) -> dict[str, list[str]]:
    """Tags of each of `resource_ids`, sorted; ids without tags are absent."""
    return relations.children(session, resource_ids, (relations.TAGS,))[0]
