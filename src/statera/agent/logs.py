"""The agent's log: one line per event on stderr, timestamped, nothing else.

The `logging` package would cost the agent memory in every amphora for no
gain: the agent's lines go to whoever supervises it (the compute driver keeps
stderr in a file per amphora).
"""

from __future__ import annotations

import sys
import time


def log(message: str) -> None:
    """Write one line; newlines inside `message` are escaped so a line stays one event."""
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
    line = message.replace("\n", "\\n")
    sys.stderr.write(f"{stamp}Z statera-agent: {line}\n")
    sys.stderr.flush()
