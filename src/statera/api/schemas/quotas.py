"""Request body of `PUT /v2/lbaas/quotas/{project_id}` (octavia-spec §1.13).

Every field is optional: an absent field keeps its value, `null` returns it
to the configured default, -1 is unlimited. `load_balancer` and
`health_monitor` are Octavia's deprecated spellings of `loadbalancer` and
`healthmonitor`.
"""

from typing import Annotated

from pydantic import Field

from statera.api.schemas.base import Body

Limit = Annotated[int, Field(ge=-1, le=2000000000)]


class QuotaPUT(Body):
    loadbalancer: Limit | None = None
    load_balancer: Limit | None = None
    listener: Limit | None = None
    member: Limit | None = None
    pool: Limit | None = None
    healthmonitor: Limit | None = None
    health_monitor: Limit | None = None
    l7policy: Limit | None = None
    l7rule: Limit | None = None


class QuotaRootPUT(Body):
    quota: QuotaPUT
