"""`openstack ...` as a subprocess with a deadline, in the client tests' environment."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

COMMAND_TIMEOUT_S = 120


class Cli:
    def __init__(self, bin_dir: Path, env: dict[str, str]) -> None:
        self.bin = bin_dir / "openstack"
        self.env = env

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.bin), *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT_S,
        )

    def __call__(self, *args: str) -> str:
        done = self.run(*args)
        assert done.returncode == 0, f"openstack {' '.join(args)}:\n{done.stderr}{done.stdout}"
        return done.stdout

    def json(self, *args: str) -> Any:
        return json.loads(self(*args, "-f", "json"))

    def fails(self, *args: str) -> str:
        done = self.run(*args)
        assert done.returncode != 0, f"openstack {' '.join(args)} succeeded:\n{done.stdout}"
        return done.stderr
