"""HAProxy's states map to Octavia's operating statuses (octavia-spec §2)."""

import pytest

from statera.controller.status import member_status
from statera.domain.enums import OperatingStatus


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ("UP", OperatingStatus.ONLINE),
        ("UP 1/3", OperatingStatus.ONLINE),
        ("DOWN", OperatingStatus.ERROR),
        ("DOWN 1/2", OperatingStatus.ERROR),
        ("DRAIN", OperatingStatus.DRAINING),
        ("MAINT", OperatingStatus.OFFLINE),
        ("no check", OperatingStatus.NO_MONITOR),
        ("something new", OperatingStatus.OFFLINE),
    ],
)
def test_member_status(state: str, expected: OperatingStatus) -> None:
    assert member_status(state) == expected
