"""Request bodies of health monitors (Octavia §1.9)."""

from statera.api.schemas.base import Body
from statera.api.schemas.types import (
    DomainName,
    ExpectedCodes,
    HttpMethodName,
    HttpVersion,
    MonitorTypeName,
    Name,
    ProjectId,
    Retries,
    Seconds,
    Tags,
    UrlPath,
    Uuid,
)


class _Fields(Body):
    name: Name | None = None
    delay: Seconds | None = None
    timeout: Seconds | None = None
    max_retries_down: Retries | None = None
    max_retries: Retries | None = None
    http_method: HttpMethodName | None = None
    url_path: UrlPath | None = None
    expected_codes: ExpectedCodes | None = None
    admin_state_up: bool | None = None
    tags: Tags | None = None
    http_version: HttpVersion | None = None
    domain_name: DomainName | None = None


class HealthMonitorPUT(_Fields):
    pass


class HealthMonitorSingleCreate(_Fields):
    type: MonitorTypeName
    delay: Seconds
    timeout: Seconds
    max_retries: Retries


class HealthMonitorPOST(HealthMonitorSingleCreate):
    pool_id: Uuid
    project_id: ProjectId | None = None
    tenant_id: ProjectId | None = None


class HealthMonitorRootPOST(Body):
    healthmonitor: HealthMonitorPOST


class HealthMonitorRootPUT(Body):
    healthmonitor: HealthMonitorPUT
