"""The agent stays standard-library only: its memory is paid once per amphora."""

from __future__ import annotations

import json
import subprocess
import sys

PROBE = """
import json, sys
before = set(sys.modules)
import statera.agent.__main__
print(json.dumps(sorted(set(sys.modules) - before)))
"""

# Imported only on rare paths or never; each costs memory in every amphora.
HEAVY = {"dataclasses", "inspect", "logging", "argparse", "tempfile", "asyncio", "traceback"}


def test_the_agent_imports_only_the_standard_library_and_the_protocol() -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=60, check=True
    )
    loaded = json.loads(result.stdout)
    outside = [m for m in loaded if m.split(".")[0] not in sys.stdlib_module_names]
    statera = {m for m in outside if m.split(".")[0] == "statera"}
    assert set(outside) == statera, f"non-stdlib imports: {set(outside) - statera}"
    allowed = {"statera", "statera.protocol", "statera.protocol.agent_api"}
    assert {m for m in statera if not m.startswith("statera.agent")} == allowed
    assert not HEAVY & set(loaded)
