"""The one Identity API answer the OpenStack CLI needs without Keystone: "not allowed to look".

`openstack loadbalancer quota set|show|reset <project>` resolves the project
through the Identity API first (`GET /projects/<name or id>`, then
`?name=`). When Keystone answers 403, as it does for a user who may not list
projects, openstackclient uses the given value as the project id. With no
Keystone in front of Statera, the CLI's identity calls land here (its
endpoint is Statera's), and Statera answers that same 403 in Keystone's body.
"""

from __future__ import annotations

from fastapi import APIRouter, Response

from statera.api.routes.common import json_response

router = APIRouter()


def forbidden() -> Response:
    body = {
        "error": {
            "code": 403,
            "title": "Forbidden",
            "message": "You are not authorized to perform the requested action: "
            "identity:get_project. Statera has no identity service; use project ids.",
        }
    }
    return json_response(body, 403)


for _path in ("/projects", "/projects/{project}", "/v3/projects", "/v3/projects/{project}"):
    router.add_api_route(_path, forbidden, methods=["GET"], include_in_schema=False)
