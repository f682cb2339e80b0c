"""The key manager's use-cases: Barbican's secrets and containers, checked as Barbican checks them.

`api/routes/key_manager.py` calls these with the caller's project after its
policy checks; `services/certificates.py` reads the same rows for listeners
and pools. Request bodies are validated here with Barbican's messages
(`InvalidObject`: "Provided object does not match schema 'Secret': <reason>.
Invalid property: '<property>'"), payloads are sealed with `db/secret_box.py`
before they reach the session. A secret past its expiration is gone, as in
Barbican: not listed, not found. The invariant a reader could break: no
payload, plain or encoded, ever goes into a log line or an error message.
"""

from __future__ import annotations

import base64
import binascii
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session, selectinload

from statera.db.base import new_id, utcnow
from statera.db.models import ContainerSecret, Secret, SecretContainer
from statera.db.secret_box import SecretBox
from statera.domain.errors import Conflict, InvalidSpec, NotFound

MAX_SECRET_BYTES = 20000
"""Barbican's default `max_allowed_secret_in_bytes`."""
SMALLINT_MAX = 32767
SECRET_TYPES = ("symmetric", "passphrase", "private", "public", "certificate", "opaque")
TEXT_TYPES = ("text/plain", "text/plain;charset=utf-8", "text/plain; charset=utf-8")
BINARY_TYPES = ("application/octet-stream", "application/pkcs8", "application/pkix-cert")
SUPPORTED_TYPES = (*TEXT_TYPES, *BINARY_TYPES)
BINARY_ENCODINGS = ("base64", "binary")
CONTAINER_TYPES = ("generic", "rsa", "certificate")
CERTIFICATE_NAMES = ("certificate", "private_key", "private_key_passphrase", "intermediates")
RSA_NAMES = ("private_key", "public_key", "private_key_passphrase")
# Per container type: the names allowed, Barbican's message for others, the names
# required, and its message for missing ones.
REF_NAME_RULES: dict[str, tuple[tuple[str, ...], str, set[str], str]] = {
    "certificate": (
        CERTIFICATE_NAMES,
        "only 'private_key', 'certificate' , 'private_key_passphrase',  or "
        "'intermediates' reference names are allowed for Certificate type",
        {"certificate"},
        "The minimum required reference name is 'certificate' for Certificate type",
    ),
    "rsa": (
        RSA_NAMES,
        "only 'private_key', 'public_key' and 'private_key_passphrase' reference "
        "names are allowed for RSA type",
        {"public_key", "private_key"},
        "The minimum required reference names are 'public_key' and'private_key' for RSA type",
    ),
}
DEFAULT_LIMIT = 10
_T = TypeVar("_T")
MAX_LIMIT = 100

_UUID_AT_END = re.compile(r"([0-9a-fA-F-]{36})/?$")


# -- errors (Barbican's messages; the route maps each class to Barbican's status) ----------------


class InvalidObject(InvalidSpec):
    """A request body Barbican's JSON schema or its rules refuse (400)."""

    def __init__(self, schema: str, reason: str, prop: str | None) -> None:
        super().__init__(
            f"Provided object does not match schema '{schema}': {reason}. "
            f"Invalid property: '{prop}'"
        )


class PayloadTooLarge(InvalidSpec):
    """413."""

    def __init__(self) -> None:
        super().__init__("Provided information too large to process")


class UnsupportedMediaType(InvalidSpec):
    """415."""


class NotAcceptable(InvalidSpec):
    """406: the payload cannot be given in the Accept'ed type."""


class SecretNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("Not Found. Sorry but your secret is in another castle.")


class ContainerNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("Not Found. Sorry but your container is in another castle.")


class PayloadNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("Not Found. Sorry but your secret has no payload.")


# -- content types -------------------------------------------------------------------------------


def normalize_content_type(value: str) -> str:
    """`text/plain` for every text type Barbican accepts, else the lower-cased type."""
    compact = value.strip().lower().replace(" ", "")
    if compact in ("text/plain", "text/plain;charset=utf-8"):
        return "text/plain"
    return compact


def is_supported(content_type: str) -> bool:
    return normalize_content_type(content_type) in ("text/plain", *BINARY_TYPES)


def decode_payload(
    raw: bytes, *, content_type: str, content_encoding: str | None, schema: str = "Secret"
) -> bytes:
    """The bytes to store for a payload sent as `content_type` (base64 decoded if so encoded)."""
    if content_encoding is not None and content_encoding.lower() == "base64":
        try:
            return base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidObject(
                schema, "Invalid payload for payload_content_encoding", "payload"
            ) from None
    return raw


# -- secrets -------------------------------------------------------------------------------------


def _string(
    body: Mapping[str, Any], key: str, *, schema: str, nullable: bool = False, max_length: int = 255
) -> str | None:
    value = body.get(key)
    if value is None and (nullable or key not in body):
        return None
    if not isinstance(value, str):
        wanted = "['string', 'null']" if nullable else "'string'"
        raise InvalidObject(schema, f"{value!r} is not of type {wanted}", key)
    if len(value) > max_length:
        raise InvalidObject(schema, f"{value!r} is too long", key)
    return value


def _enum(body: Mapping[str, Any], key: str, choices: Sequence[str], *, schema: str) -> str | None:
    value = _string(body, key, schema=schema)
    if value is not None and value not in choices:
        raise InvalidObject(schema, f"{value!r} is not one of {list(choices)!r}", key)
    return value


def _expiration(body: Mapping[str, Any]) -> datetime | None:
    raw = _string(body, "expiration", schema="Secret")
    if raw is None or not raw.strip():
        return None
    try:
        parsed = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidObject("Secret", "Invalid date for 'expiration'", "expiration") from None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    if parsed <= utcnow():
        raise InvalidObject("Secret", "'expiration' is before current time", "expiration")
    return parsed


@dataclass(frozen=True)
class NewSecret:
    """A validated `POST /v1/secrets` body; `payload` already decoded (None: two-step create)."""

    name: str | None
    secret_type: str
    algorithm: str | None
    bit_length: int | None
    mode: str | None
    expiration: datetime | None
    payload: bytes | None
    content_type: str | None


def parse_new_secret(body: Any) -> NewSecret:
    """Barbican's `NewSecretValidator`: the schema, then the payload rules, in its order."""
    schema = "Secret"
    if not isinstance(body, dict):
        raise InvalidObject(schema, f"{body!r} is not of type 'object'", None)
    name = _string(body, "name", schema=schema, nullable=True)
    algorithm = _string(body, "algorithm", schema=schema)
    mode = _string(body, "mode", schema=schema)
    bit_length = body.get("bit_length")
    if bit_length is not None or "bit_length" in body:
        if not isinstance(bit_length, int) or isinstance(bit_length, bool):
            raise InvalidObject(schema, f"{bit_length!r} is not of type 'integer'", "bit_length")
        if bit_length < 1:
            raise InvalidObject(
                schema, f"{bit_length!r} is less than the minimum of 1", "bit_length"
            )
        if bit_length > SMALLINT_MAX:
            raise InvalidObject(
                schema,
                f"{bit_length!r} is greater than the maximum of {SMALLINT_MAX}",
                "bit_length",
            )
    payload_raw = body.get("payload")
    if "payload" in body and not isinstance(payload_raw, str):
        raise InvalidObject(schema, f"{payload_raw!r} is not of type 'string'", "payload")
    secret_type = _enum(body, "secret_type", SECRET_TYPES, schema=schema) or "opaque"
    content_type = _string(body, "payload_content_type", schema=schema, nullable=True)
    encoding = _enum(body, "payload_content_encoding", ("base64",), schema=schema)
    expiration = _expiration(body)
    payload: bytes | None = None
    if "payload" in body:
        assert isinstance(payload_raw, str)
        if content_type is None:
            raise InvalidObject(
                schema,
                "If 'payload' is supplied, 'payload_content_type' must also be supplied.",
                "payload_content_type",
            )
        _check_content_type(content_type, schema=schema)
        binary = normalize_content_type(content_type) in BINARY_TYPES
        if (binary and encoding not in BINARY_ENCODINGS) or (not binary and encoding is not None):
            supported = list(BINARY_ENCODINGS) if binary else None
            raise InvalidObject(
                schema,
                f"payload_content_encoding is not one of {supported}",
                "payload_content_encoding",
            )
        if len(payload_raw.encode()) > MAX_SECRET_BYTES:
            raise PayloadTooLarge()
        stripped = payload_raw.strip()
        if not stripped:
            raise InvalidObject(schema, "If 'payload' specified, must be non empty", "payload")
        payload = decode_payload(
            stripped.encode(), content_type=content_type, content_encoding=encoding
        )
    elif "payload_content_type" in body:
        raise InvalidObject(
            schema, "payload must be provided when payload_content_type is specified", "payload"
        )
    return NewSecret(
        name=name.strip() if name is not None else None,
        secret_type=secret_type,
        algorithm=algorithm,
        bit_length=bit_length,
        mode=mode,
        expiration=expiration,
        payload=payload,
        content_type=normalize_content_type(content_type) if content_type and payload else None,
    )


def _check_content_type(content_type: str, *, schema: str) -> None:
    if not is_supported(content_type):
        raise InvalidObject(
            schema,
            f"payload_content_type is not one of {list(SUPPORTED_TYPES)!r}",
            "payload_content_type",
        )


_Row = TypeVar("_Row", Secret, SecretContainer)


def _new_row(model: type[_Row], *, project_id: str, creator_id: str | None, **fields: Any) -> _Row:
    """A new ACTIVE row of the project, created (and last updated) now."""
    row_id = new_id()
    now = utcnow()
    return model(
        id=row_id,
        project_id=project_id,
        status="ACTIVE",
        creator_id=creator_id,
        created_at=now,
        updated_at=now,
        **fields,
    )


def _added(session: Session, row: _Row) -> _Row:
    session.add(row)
    session.flush()
    return row


def create_secret(
    session: Session,
    new: NewSecret,
    *,
    project_id: str,
    creator_id: str | None,
    box: SecretBox,
) -> Secret:
    secret = _new_row(
        Secret,
        project_id=project_id,
        creator_id=creator_id,
        name=new.name,
        secret_type=new.secret_type,
        algorithm=new.algorithm,
        bit_length=new.bit_length,
        mode=new.mode,
        expiration=new.expiration,
    )
    if new.payload is not None:
        secret.payload_content_type = new.content_type
        secret.ciphertext = box.seal(new.payload, secret_id=secret.id)
    return _added(session, secret)


def _live(query: Select[_T]) -> Select[_T]:
    return query.where(or_(Secret.expiration.is_(None), Secret.expiration > utcnow()))


def get_secret(session: Session, secret_id: str, *, for_update: bool = False) -> Secret:
    """The secret `secret_id` of any project (the caller checks the policy); SecretNotFound."""
    query = _live(select(Secret).where(Secret.id == secret_id))
    if for_update:
        query = query.with_for_update()
    secret = session.scalars(query).one_or_none()
    if secret is None:
        raise SecretNotFound()
    return secret


def store_payload(
    session: Session,
    secret_id: str,
    data: bytes,
    *,
    content_type: str | None,
    content_encoding: str | None,
    box: SecretBox,
) -> Secret:
    """Barbican's `PUT /v1/secrets/<id>`: the payload of a secret created without one."""
    if not content_type or normalize_content_type(content_type) == "application/json":
        raise UnsupportedMediaType(f"Content-Type of '{content_type}' is not supported for PUT.")
    if normalize_content_type(content_type) not in ("text/plain", "application/octet-stream"):
        raise UnsupportedMediaType(
            "Unexpected content type. Expected content types are: "
            "['application/octet-stream', 'text/plain']"
        )
    if not data:
        raise InvalidSpec("No data supplied to process.")
    if len(data) > MAX_SECRET_BYTES:
        raise PayloadTooLarge()
    secret = get_secret(session, secret_id, for_update=True)
    if secret.ciphertext is not None:
        raise Conflict("Secret already has data, cannot modify it.")
    payload = decode_payload(data, content_type=content_type, content_encoding=content_encoding)
    secret.payload_content_type = normalize_content_type(content_type)
    secret.ciphertext = box.seal(payload, secret_id=secret.id)
    secret.updated_at = utcnow()
    return secret


def read_payload(secret: Secret, *, accept: str | None, box: SecretBox) -> tuple[bytes, str]:
    """The payload and the media type to answer it with, given the request's Accept."""
    if secret.ciphertext is None or secret.payload_content_type is None:
        raise PayloadNotFound()
    stored = secret.payload_content_type
    wanted = normalize_content_type(accept or "*/*")
    # Any payload can be had as raw bytes; a binary one never as text.
    if wanted not in ("*/*", "application/octet-stream", stored):
        raise NotAcceptable(f"Secret Accept of '{accept}' not supported")
    media = "text/plain; charset=utf-8" if stored == "text/plain" else stored
    if wanted == "application/octet-stream":
        media = wanted
    return box.open(secret.ciphertext, secret_id=secret.id), media


@dataclass(frozen=True)
class Page:
    rows: list[Any]
    offset: int
    limit: int
    total: int


def paging(params: Mapping[str, str]) -> tuple[int, int]:
    """Barbican's `clean_paging_values`: bad values fall back to the defaults."""
    try:
        offset = max(int(params.get("offset", 0)), 0)
    except ValueError:
        offset = 0
    try:
        limit = int(params.get("limit", DEFAULT_LIMIT))
    except ValueError:
        limit = DEFAULT_LIMIT
    return offset, max(min(limit, MAX_LIMIT), 1)


def list_secrets(
    session: Session, *, project_id: str, filters: Mapping[str, str], offset: int, limit: int
) -> Page:
    """One page of the project's live secrets, oldest first (Barbican's order)."""
    query = _live(select(Secret).where(Secret.project_id == project_id))
    if filters.get("name"):
        query = query.where(Secret.name == filters["name"])
    if filters.get("alg"):
        query = query.where(Secret.algorithm == filters["alg"])
    if filters.get("mode"):
        query = query.where(Secret.mode == filters["mode"])
    if filters.get("secret_type"):
        query = query.where(Secret.secret_type == filters["secret_type"])
    bits = filters.get("bits", "0")
    if bits.isdigit() and int(bits) > 0:
        query = query.where(Secret.bit_length == int(bits))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(Secret.created_at, Secret.id).offset(offset).limit(limit)
    ).all()
    return Page(rows=list(rows), offset=offset, limit=limit, total=total)


def delete_secret(session: Session, secret_id: str) -> None:
    """Delete the secret; containers naming it keep a dangling reference (as in Barbican)."""
    session.delete(get_secret(session, secret_id, for_update=True))


# -- containers ----------------------------------------------------------------------------------


def ref_id(ref: str) -> str | None:
    """The UUID at the end of a secret or container href (or a bare UUID); None if none."""
    match = _UUID_AT_END.search(ref.strip())
    if match is None:
        return None
    try:
        return str(uuid.UUID(match.group(1)))
    except ValueError:
        return None


@dataclass(frozen=True)
class NewContainer:
    name: str | None
    type: str
    refs: tuple[tuple[str | None, str], ...]
    """(name, secret href) in the order given."""


def parse_new_container(body: Any) -> NewContainer:
    """Barbican's `ContainerValidator`."""
    schema = "Container"
    if not isinstance(body, dict):
        raise InvalidObject(schema, f"{body!r} is not of type 'object'", None)
    if "type" not in body:
        raise InvalidObject(schema, "'type' is a required property", None)
    name = _string(body, "name", schema=schema, nullable=True)
    container_type = _enum(body, "type", CONTAINER_TYPES, schema=schema)
    assert container_type is not None
    raw_refs = body.get("secret_refs", [])
    if raw_refs is None or "secret_refs" not in body:
        raw_refs = []
    if not isinstance(raw_refs, list):
        raise InvalidObject(schema, f"{raw_refs!r} is not of type 'array'", "secret_refs")
    refs: list[tuple[str | None, str]] = []
    for item in raw_refs:
        if not isinstance(item, dict):
            raise InvalidObject(schema, f"{item!r} is not of type 'object'", "secret_refs")
        if "secret_ref" not in item:
            raise InvalidObject(schema, "'secret_ref' is a required property", "secret_refs")
        ref_name = _string(item, "name", schema=schema, nullable=True)
        href = item["secret_ref"]
        if not isinstance(href, str) or not href:
            raise InvalidObject(schema, f"{href!r} is not of type 'string'", "secret_refs")
        refs.append((ref_name, href))
    names = {n or "" for n, _ in refs}
    if len(names) != len(refs):
        raise InvalidObject(schema, "Duplicate reference names are not allowed", "secret_refs")
    if len({ref_id(h) or h for _, h in refs}) != len(refs):
        raise InvalidObject(schema, "Duplicate secret ids are not allowed", "secret_refs")
    rules = REF_NAME_RULES.get(container_type)
    if refs and rules is not None:
        allowed, not_allowed, required, too_few = rules
        if names - set(allowed):
            raise InvalidObject(schema, not_allowed, "secret_refs")
        if not required <= names:
            raise InvalidObject(schema, too_few, "secret_refs")
    return NewContainer(
        name=name.strip() if name is not None else None, type=container_type, refs=tuple(refs)
    )


def create_container(
    session: Session, new: NewContainer, *, project_id: str, creator_id: str | None
) -> SecretContainer:
    """A container of the project's own secrets; a reference to any other is a 404."""
    container = _new_row(
        SecretContainer, project_id=project_id, creator_id=creator_id, name=new.name, type=new.type
    )
    for position, (ref_name, href) in enumerate(new.refs):
        secret_id = ref_id(href)
        found = None
        if secret_id is not None:
            found = session.scalars(
                _live(select(Secret.id).where(Secret.id == secret_id)).where(
                    Secret.project_id == project_id
                )
            ).first()
        if found is None:
            raise NotFound(f"Secret provided for '{ref_name}' doesn't exist.")
        assert secret_id is not None
        container.secrets.append(
            ContainerSecret(position=position, name=ref_name, secret_id=secret_id)
        )
    return _added(session, container)


def get_container(session: Session, container_id: str) -> SecretContainer:
    """The container `container_id` of any project (the caller checks the policy)."""
    container = session.scalars(
        select(SecretContainer)
        .options(selectinload(SecretContainer.secrets))
        .where(SecretContainer.id == container_id)
    ).one_or_none()
    if container is None:
        raise ContainerNotFound()
    return container


def list_containers(
    session: Session, *, project_id: str, name: str | None, offset: int, limit: int
) -> Page:
    query = select(SecretContainer).where(SecretContainer.project_id == project_id)
    if name:
        query = query.where(SecretContainer.name == name)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.options(selectinload(SecretContainer.secrets))
        .order_by(SecretContainer.created_at, SecretContainer.id)
        .offset(offset)
        .limit(limit)
    ).all()
    return Page(rows=list(rows), offset=offset, limit=limit, total=total)


def delete_container(session: Session, container_id: str) -> None:
    session.delete(get_container(session, container_id))
