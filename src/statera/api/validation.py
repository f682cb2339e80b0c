"""Request bodies in, WSME-style messages out.

`parse_body` turns the raw bytes of a request into one of the models in
`api/schemas/`, or raises `InvalidSpec` with the message Octavia (WSME) would
give, naming the attribute: "Invalid input for field/attribute protocol_port.
Value: '0'. Value should be greater or equal to 1", "Unknown attribute for
argument listener: foo". Only the first problem is reported, as WSME does.
Validation happens before any transaction opens, so a rejected request
changes nothing.
"""

from __future__ import annotations

from typing import Any, TypeVar

import orjson
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from statera.domain.errors import InvalidSpec

M = TypeVar("M", bound=BaseModel)

_EXPECTED: dict[str, type] = {
    "int_type": int,
    "int_parsing": int,
    "int_from_float": int,
    "bool_type": bool,
    "bool_parsing": bool,
    "string_type": str,
    "float_type": float,
    "float_parsing": float,
    "list_type": list,
    "dict_type": dict,
    "model_type": dict,
    "model_attributes_type": dict,
}


def parse_body(model: type[M], raw: bytes) -> M:
    """Validate a JSON request body against `model` (a root wrapper model)."""
    if not raw.strip():
        raise InvalidSpec("Missing argument: request body")
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise InvalidSpec("Request is not in valid JSON format") from None
    return validate(model, data)


def validate(model: type[M], data: Any) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidSpec(describe(exc.errors(), root=_root_name(model))) from None


def _root_name(model: type[BaseModel]) -> str:
    fields = list(model.model_fields)
    return fields[0] if len(fields) == 1 else "body"


def describe(errors: list[ErrorDetails], *, root: str = "body") -> str:
    """WSME's message for the first of pydantic's errors."""
    first = errors[0]
    loc = first["loc"]
    if first["type"] == "extra_forbidden":
        parent = loc[:-1]
        names = [
            str(e["loc"][-1])
            for e in errors
            if e["type"] == "extra_forbidden" and e["loc"][:-1] == parent
        ]
        argument = ".".join(str(p) for p in parent if isinstance(p, str)) or root
        noun = "attributes" if len(names) > 1 else "attribute"
        return f"Unknown {noun} for argument {argument}: {', '.join(names)}"
    field = next((p for p in reversed(loc) if isinstance(p, str)), root)
    value = first.get("input")
    kind = first["type"]
    if kind == "missing" or (value is None and kind in _EXPECTED):
        return invalid_input(field, None, "Mandatory field missing.")
    if kind == "wsme":
        message = str((first.get("ctx") or {}).get("message", first["msg"]))
    elif kind in _EXPECTED:
        message = f"Wrong type. Expected '{_EXPECTED[kind]}', got '{type(value)}'"
    elif kind == "greater_than_equal":
        message = f"Value should be greater or equal to {_ctx(first, 'ge')}"
    elif kind == "less_than_equal":
        message = f"Value should be lower or equal to {_ctx(first, 'le')}"
    else:
        message = first["msg"]
    return invalid_input(field, value, message)


def invalid_input(field: str, value: Any, message: str) -> str:
    return f"Invalid input for field/attribute {field}. Value: '{value}'. {message}"


def _ctx(error: ErrorDetails, key: str) -> Any:
    return (error.get("ctx") or {}).get(key)
