"""A Barbican-compatible key manager at `/v1`: secrets and containers for TLS references.

Octavia's TERMINATED_HTTPS listeners and TLS pools name their certificates by
Barbican href; Statera has no Barbican, so it serves the part of Barbican's v1
API that Octavia's TLS cookbook and `openstack secret ...` (python-barbicanclient)
use: `POST/GET/DELETE /v1/secrets[/<id>]`, `PUT /v1/secrets/<id>` (the payload of
a two-step create), `GET /v1/secrets/<id>/payload`, `POST/GET/DELETE
/v1/containers[/<id>]`, and the version document at `/v1`. Answers and errors use
Barbican's shapes (`{"code", "title", "description"}`) and messages; the checks
live in `services/key_manager.py`.

The same routes are also served at the root (`/secrets`, `/containers`): with
`OS_AUTH_TYPE=none` and `OS_ENDPOINT=<statera>`, barbicanclient uses the endpoint
as it is for every service and asks for `secrets/<id>` relative to it, after
reading the version document at `/` with `OpenStack-API-Version: key-manager ...`;
`root` answers that request with Barbican's version list and every other one
with Octavia's version document. Secret refs always carry `/v1`.

Authorization uses the caller of the Octavia routes and Barbican's rule names
(`secret:get`, `secret:decrypt`, `secrets:post`, ..., in `api/policy.py`): a
project's readers see metadata, its members also read payloads and write, an
administrator may read any project's. Another project's object is answered 404
unless the caller may read it. Lists show the caller's project only. Nothing
here goes through the response cache: payloads must never be kept.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from http import HTTPStatus
from typing import Annotated, Any, Generic, ParamSpec, TypeVar
from urllib.parse import urlencode

import orjson
from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy.orm import Session

from statera.api.auth import RequestContext, auth_of, request_context
from statera.api.routes import versions
from statera.api.routes.common import context, read_body
from statera.db.models import Secret, SecretContainer
from statera.db.secret_box import SecretBox, secret_box
from statera.domain.errors import Conflict, NotFound, StateraError
from statera.services import key_manager as km

router = APIRouter()

Body = Annotated[bytes, Depends(read_body)]
PREFIXES = ("/v1", "")
UPDATED = "2015-04-28T00:00:00Z"
MIN_VERSION, MAX_VERSION = "1.0", "1.1"
VERSION_HEADER = "openstack-api-version"

_P = ParamSpec("_P")
_T = TypeVar("_T", Secret, SecretContainer)


class BarbicanError(Exception):
    """An answer in Barbican's error shape."""

    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description

    def response(self) -> Response:
        body = {
            "code": self.status,
            "title": HTTPStatus(self.status).phrase,
            "description": self.description,
        }
        return Response(orjson.dumps(body), status_code=self.status, media_type="application/json")


def _status(exc: StateraError) -> int:
    for cls, status in (
        (km.PayloadTooLarge, 413),
        (km.UnsupportedMediaType, 415),
        (km.NotAcceptable, 406),
        (NotFound, 404),
        (Conflict, 409),
    ):
        if isinstance(exc, cls):
            return status
    return 400


def _error(exc: StateraError) -> Response:
    return BarbicanError(_status(exc), exc.message).response()


def _json(doc: Any, status_code: int = 200) -> Response:
    return Response(orjson.dumps(doc), status_code=status_code, media_type="application/json")


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _box(request: Request) -> SecretBox:
    return secret_box(context(request).settings)


# -- authorization -----------------------------------------------------------------------------


def _allowed(request: Request, rule: str, project_id: str | None) -> bool:
    ctx = request_context(request)
    return auth_of(request).policy.check(rule, ctx, {"project_id": project_id})


def _forbidden(operation: str) -> BarbicanError:
    return BarbicanError(
        403, f"{operation} attempt not allowed - please review your user/project privileges"
    )


def _own_project(request: Request, rule: str, *, operation: str) -> RequestContext:
    """The caller, if it passes `rule` in its own project (collections and creates)."""
    ctx = request_context(request)
    if ctx.project_id is None or not _allowed(request, rule, ctx.project_id):
        raise _forbidden(operation)
    return ctx


def _parse_json(raw: bytes) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise BarbicanError(400, "Malformed JSON") from None


def _json_content_type(request: Request) -> None:
    media = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
    if media not in ("application/json", ""):
        raise BarbicanError(
            415, "Unexpected content type. Expected content types are: ['application/json']"
        )


# -- documents ---------------------------------------------------------------------------------


def _time(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def secret_doc(base: str, secret: Secret) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "secret_ref": f"{base}/v1/secrets/{secret.id}",
        "name": secret.name,
        "status": secret.status,
        "secret_type": secret.secret_type,
        "created": _time(secret.created_at),
        "updated": _time(secret.updated_at or secret.created_at),
        "expiration": _time(secret.expiration),
        "algorithm": secret.algorithm,
        "bit_length": secret.bit_length,
        "mode": secret.mode,
        "creator_id": secret.creator_id,
        "consumers": [],
    }
    if secret.payload_content_type is not None:
        doc["content_types"] = {"default": secret.payload_content_type}
    return doc


def container_doc(base: str, container: SecretContainer) -> dict[str, Any]:
    return {
        "container_ref": f"{base}/v1/containers/{container.id}",
        "name": container.name,
        "type": container.type,
        "status": container.status,
        "created": _time(container.created_at),
        "updated": _time(container.updated_at or container.created_at),
        "creator_id": container.creator_id,
        "consumers": [],
        "secret_refs": [
            {"name": s.name, "secret_ref": f"{base}/v1/secrets/{s.secret_id}"}
            for s in container.secrets
        ],
    }


def _page(base: str, key: str, page: km.Page, docs: list[dict[str, Any]]) -> dict[str, Any]:
    """Barbican's list: the items, `total`, and `previous`/`next` hrefs where there are some."""
    out: dict[str, Any] = {key: docs, "total": page.total}
    if not docs:
        return out
    if page.offset > 0:
        query = urlencode({"limit": page.limit, "offset": max(page.offset - page.limit, 0)})
        out["previous"] = f"{base}/v1/{key}?{query}"
    if page.offset + page.limit < page.total:
        query = urlencode({"limit": page.limit, "offset": page.offset + page.limit})
        out["next"] = f"{base}/v1/{key}?{query}"
    return out


def _version(base: str) -> dict[str, Any]:
    return {
        "id": "v1",
        "status": "CURRENT",
        "updated": UPDATED,
        "min_version": MIN_VERSION,
        "max_version": MAX_VERSION,
        "media-types": [
            {"base": "application/json", "type": "application/vnd.openstack.key-manager-v1+json"}
        ],
        "links": [
            {"rel": "self", "href": f"{base}/v1/"},
            {"rel": "describedby", "type": "text/html", "href": "https://docs.openstack.org/"},
        ],
    }


# -- handlers' shared steps -----------------------------------------------------------------


@dataclass(frozen=True)
class _Kind(Generic[_T]):
    """What the handlers of secrets and of containers differ in."""

    collection: str
    """The path segment and the key of a list: `secrets`, `containers`."""
    ref: str
    """The key of a create's answer: `secret_ref`, `container_ref`."""
    read_rule: str
    get: Callable[[Session, str], _T]
    missing: Callable[[], NotFound]
    doc: Callable[[str, _T], dict[str, Any]]
    delete: Callable[[Session, str], None]


SECRETS = _Kind(
    "secrets",
    "secret_ref",
    "secret:get",
    km.get_secret,
    km.SecretNotFound,
    secret_doc,
    km.delete_secret,
)
CONTAINERS = _Kind(
    "containers",
    "container_ref",
    "container:get",
    km.get_container,
    km.ContainerNotFound,
    container_doc,
    km.delete_container,
)


def _answers(
    *also: type[StateraError],
) -> Callable[[Callable[_P, Response]], Callable[_P, Response]]:
    """Handlers whose BarbicanError, and `also` errors, are answered in Barbican's shape.

    FastAPI reads the handler's own signature (path parameters, body)
    through `functools.wraps`.
    """

    def decorate(handler: Callable[_P, Response]) -> Callable[_P, Response]:
        @functools.wraps(handler)
        def endpoint(*args: _P.args, **kwargs: _P.kwargs) -> Response:
            try:
                return handler(*args, **kwargs)
            except BarbicanError as exc:
                return exc.response()
            except also as exc:
                return _error(exc)

        return endpoint

    return decorate


_barbican = _answers(StateraError)


@contextmanager
def _writing(request: Request) -> Iterator[Session]:
    """A unit of work; once it commits, the app is told of the change."""
    api = context(request)
    with api.database.write() as session:
        yield session
    api.changed()


def _load(
    request: Request, session: Session, kind: _Kind[_T], object_id: str, rule: str, operation: str
) -> _T:
    """The object `object_id`, if the caller passes `rule` for it.

    Another project's object the caller may not even read (`kind.read_rule`)
    is answered as missing (404), anything else refused is Barbican's 403.
    """
    found = kind.get(session, object_id)
    ctx = request_context(request)
    if _allowed(request, rule, found.project_id):
        return found
    if found.project_id != ctx.project_id and not _allowed(
        request, kind.read_rule, found.project_id
    ):
        raise BarbicanError(404, kind.missing().message)
    raise _forbidden(operation)


def _list(
    request: Request, kind: _Kind[_T], rule: str, operation: str, query: Callable[..., km.Page]
) -> Response:
    """One page of the caller's own project: `query(session, project_id=, offset=, limit=)`."""
    ctx = _own_project(request, rule, operation=operation)
    assert ctx.project_id is not None
    offset, limit = km.paging(request.query_params)
    with context(request).database.read() as session:
        page = query(session, project_id=ctx.project_id, offset=offset, limit=limit)
        docs = [kind.doc(_base(request), row) for row in page.rows]
    return _json(_page(_base(request), kind.collection, page, docs))


def _create(
    request: Request,
    raw: bytes,
    kind: _Kind[_T],
    rule: str,
    operation: str,
    parse: Callable[[Any], Any],
    create: Callable[..., _T],
) -> Response:
    """A new object in the caller's project: `create(session, new, project_id=, creator_id=)`."""
    ctx = _own_project(request, rule, operation=operation)
    assert ctx.project_id is not None
    _json_content_type(request)
    new = parse(_parse_json(raw))
    with _writing(request) as session:
        created = create(session, new, project_id=ctx.project_id, creator_id=ctx.user_id)
        ref = f"{_base(request)}/v1/{kind.collection}/{created.id}"
    return Response(
        orjson.dumps({kind.ref: ref}),
        status_code=201,
        media_type="application/json",
        headers={"Location": ref},
    )


def _show(request: Request, kind: _Kind[_T], object_id: str, operation: str) -> Response:
    with context(request).database.read() as session:
        found = _load(request, session, kind, object_id, kind.read_rule, operation)
        doc = kind.doc(_base(request), found)
    return _json(doc)


def _delete(
    request: Request, kind: _Kind[_T], object_id: str, rule: str, operation: str
) -> Response:
    with _writing(request) as session:
        _load(request, session, kind, object_id, rule, operation)
        kind.delete(session, object_id)
    return Response(status_code=204)


# -- versions ----------------------------------------------------------------------------------


def root(request: Request) -> Response:
    """Barbican's version list to a key-manager client, Octavia's document to anyone else."""
    if request.headers.get(VERSION_HEADER, "").lower().startswith("key-manager"):
        return _json({"versions": {"values": [_version(_base(request))]}}, 300)
    return versions.version_document(request)


def version_v1(request: Request) -> Response:
    return _json({"version": _version(_base(request))})


# -- secrets -----------------------------------------------------------------------------------


# A StateraError in a list (only a wiring bug can raise one) is left to the app's handlers.
@_answers()
def list_secrets(request: Request) -> Response:
    query = functools.partial(km.list_secrets, filters=request.query_params)
    return _list(request, SECRETS, "secrets:get", "Secret(s) retrieval", query)


@_barbican
def create_secret(request: Request, raw: Body) -> Response:
    def create(session: Session, new: km.NewSecret, **owner: Any) -> Secret:
        return km.create_secret(session, new, box=_box(request), **owner)

    parse = km.parse_new_secret
    return _create(request, raw, SECRETS, "secrets:post", "Secret creation", parse, create)


def _wants_metadata(request: Request) -> bool:
    """Barbican's `is_json_request_accept`: no Accept, `*/*` or one naming JSON."""
    accept = request.headers.get("accept", "").strip()
    return not accept or accept == "*/*" or "application/json" in accept


@_barbican
def show_secret(request: Request, secret_id: str) -> Response:
    if not _wants_metadata(request):
        return show_payload(request, secret_id)  # Barbican's older way to read a payload
    return _show(request, SECRETS, secret_id, "Secret retrieval")


@_barbican
def show_payload(request: Request, secret_id: str) -> Response:
    with context(request).database.read() as session:
        secret = _load(
            request, session, SECRETS, secret_id, "secret:decrypt", "Secret payload retrieval"
        )
        data, media = km.read_payload(
            secret, accept=request.headers.get("accept"), box=_box(request)
        )
    return Response(data, media_type=media, headers={"Cache-Control": "no-store"})


@_barbican
def put_secret(request: Request, secret_id: str, raw: Body) -> Response:
    with _writing(request) as session:
        _load(request, session, SECRETS, secret_id, "secret:put", "Secret update")
        km.store_payload(
            session,
            secret_id,
            raw,
            content_type=request.headers.get("content-type"),
            content_encoding=request.headers.get("content-encoding"),
            box=_box(request),
        )
    return Response(status_code=204)


@_barbican
def delete_secret(request: Request, secret_id: str) -> Response:
    return _delete(request, SECRETS, secret_id, "secret:delete", "Secret deletion")


# -- containers --------------------------------------------------------------------------------


@_answers()  # as `list_secrets`
def list_containers(request: Request) -> Response:
    query = functools.partial(km.list_containers, name=request.query_params.get("name"))
    return _list(request, CONTAINERS, "containers:get", "Containers(s) retrieval", query)


@_barbican
def create_container(request: Request, raw: Body) -> Response:
    parse, create = km.parse_new_container, km.create_container
    return _create(request, raw, CONTAINERS, "containers:post", "Container creation", parse, create)


@_barbican
def show_container(request: Request, container_id: str) -> Response:
    return _show(request, CONTAINERS, container_id, "Container retrieval")


@_barbican
def delete_container(request: Request, container_id: str) -> Response:
    return _delete(request, CONTAINERS, container_id, "container:delete", "Container deletion")


# Registered before `versions.router` (api/app.py), so `root` answers `/`.
router.add_api_route("/", root, methods=["GET"], include_in_schema=False)
for _path in ("/v1", "/v1/"):
    router.add_api_route(_path, version_v1, methods=["GET"], include_in_schema=False)
for _prefix in PREFIXES:
    _secrets = f"{_prefix}/secrets"
    _secret = f"{_secrets}/{{secret_id}}"
    _containers = f"{_prefix}/containers"
    _container = f"{_containers}/{{container_id}}"
    for _path, _endpoint, _method in (
        (_secrets, list_secrets, "GET"),
        (_secrets, create_secret, "POST"),
        (_secret, show_secret, "GET"),
        (_secret, put_secret, "PUT"),
        (_secret, delete_secret, "DELETE"),
        (f"{_secret}/payload", show_payload, "GET"),
        (_containers, list_containers, "GET"),
        (_containers, create_container, "POST"),
        (_container, show_container, "GET"),
        (_container, delete_container, "DELETE"),
    ):
        router.add_api_route(_path, _endpoint, methods=[_method], include_in_schema=False)
        if _path in (_secrets, _containers):
            # barbicanclient posts to `secrets/` and `containers/` (trailing slash).
            router.add_api_route(f"{_path}/", _endpoint, methods=[_method], include_in_schema=False)
