"""The base of every request body model: strict types, unknown keys rejected.

Octavia (WSME) refuses an attribute it does not know and a value of the wrong
JSON type (a string for an integer, a number for a boolean), so the models are
`strict` and `extra="forbid"`. Optional attributes are `X | None = None`: the
API tells "absent" from "null" with `model_fields_set`, because in a PUT a
null resets the attribute to its default.
"""

from pydantic import BaseModel, ConfigDict


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)
