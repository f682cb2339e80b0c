"""The OpenStack clients' own virtualenv (`.venv-clients`), created when missing.

`./run setup` creates it from `requirements.txt` beside this file; tests that
need it call `ensure_clients_venv()` so a plain `pytest` works as well.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
ROOT = HERE.parent.parent
VENV = Path(os.environ.get("STATERA_CLIENTS_VENV", ROOT / ".venv-clients"))


def ensure_clients_venv(venv: Path = VENV) -> Path:
    """The venv's bin directory, creating the venv first if `openstack` is not in it."""
    bin_dir = venv / "bin"
    if not (bin_dir / "openstack").exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run(
            [str(bin_dir / "pip"), "install", "-q", "-r", str(HERE / "requirements.txt")],
            check=True,
            timeout=900,
        )
    return bin_dir
