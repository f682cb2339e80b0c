"""Request bodies of L7 policies and L7 rules (octavia-spec §1.10, §1.11).

Types and lengths are checked here; the cross-field rules (which target an
action needs, which compare types a rule type takes, that a regex compiles)
are Octavia's and live in `services/l7policies.py` and `services/l7rules.py`.
A policy inside a single-call create may embed `redirect_pool`, a pool given
in full or by name only.
"""

from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field

from statera.api.schemas.base import Body
from statera.api.schemas.pools import PoolSingleCreate
from statera.api.schemas.types import (
    MAX_INT32,
    Description,
    Name,
    ProjectId,
    Tags,
    Uuid,
    fail,
    one_of,
    wrong_type,
)
from statera.domain.enums import (
    REDIRECT_HTTP_CODES,
    L7PolicyAction,
    L7RuleCompareType,
    L7RuleType,
)


def _redirect_code(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        wrong_type(int, value)
    if value not in REDIRECT_HTTP_CODES:
        fail("Value should be one of: " + ", ".join(str(c) for c in REDIRECT_HTTP_CODES))
    return value


ActionName = Annotated[str, AfterValidator(one_of(L7PolicyAction))]
RuleTypeName = Annotated[str, AfterValidator(one_of(L7RuleType))]
CompareTypeName = Annotated[str, AfterValidator(one_of(L7RuleCompareType))]
RedirectCode = Annotated[int, BeforeValidator(_redirect_code)]
Position = Annotated[int, Field(ge=1, le=MAX_INT32)]
Url = Name
"""At most 255 characters, no control character (the URL rules are the service's)."""
RuleText = Name
"""At most 255 characters, no CR/LF or other control character."""


class _RuleFields(Body):
    key: RuleText | None = None
    value: RuleText | None = None
    invert: bool | None = None
    admin_state_up: bool | None = None
    tags: Tags | None = None


class L7RulePUT(_RuleFields):
    type: RuleTypeName | None = None
    compare_type: CompareTypeName | None = None


class L7RuleSingleCreate(_RuleFields):
    type: RuleTypeName
    compare_type: CompareTypeName
    value: RuleText


class L7RulePOST(L7RuleSingleCreate):
    project_id: ProjectId | None = None
    tenant_id: ProjectId | None = None


class L7RuleRootPOST(Body):
    rule: L7RulePOST


class L7RuleRootPUT(Body):
    rule: L7RulePUT


class _PolicyFields(Body):
    name: Name | None = None
    description: Description | None = None
    admin_state_up: bool | None = None
    redirect_pool_id: Uuid | None = None
    redirect_url: Url | None = None
    redirect_prefix: Url | None = None
    redirect_http_code: RedirectCode | None = None
    position: Position | None = None
    tags: Tags | None = None


class L7PolicyPUT(_PolicyFields):
    action: ActionName | None = None


class L7PolicySingleCreate(_PolicyFields):
    action: ActionName
    redirect_pool: PoolSingleCreate | None = None
    rules: list[L7RuleSingleCreate] | None = None


class L7PolicyPOST(_PolicyFields):
    action: ActionName
    listener_id: Uuid
    rules: list[L7RuleSingleCreate] | None = None
    project_id: ProjectId | None = None
    tenant_id: ProjectId | None = None


class L7PolicyRootPOST(Body):
    l7policy: L7PolicyPOST


class L7PolicyRootPUT(Body):
    l7policy: L7PolicyPUT
