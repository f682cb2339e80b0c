"""End-to-end tests: root, real namespaces, real HAProxy, real traffic.

Every test here is marked `e2e`; without root or HAProxy they are skipped with
the reason (CI runs as root with HAProxy installed, so there they run).
"""

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.e2e.stack import Stack


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    reason = None
    if os.geteuid() != 0:
        reason = "needs root (network namespaces)"
    elif shutil.which("haproxy") is None and not Path("/usr/sbin/haproxy").exists():
        reason = "needs haproxy"
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.e2e)
            if reason:
                item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    s = Stack(tmp_path_factory.mktemp("stack"))
    try:
        s.start()
        yield s
    finally:
        s.close()
