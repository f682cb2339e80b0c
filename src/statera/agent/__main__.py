"""`python -m statera.agent --config <agent.json>`: run one amphora's agent.

The compute driver starts this once per amphora, inside the amphora's
management namespace. Exit status: 0 after SIGTERM or SIGINT, 1 if it cannot
serve (certificates unreadable, address in use), 2 for a bad command line or
configuration file (the message says which key is wrong).
"""

from __future__ import annotations

import sys
from pathlib import Path

from statera.agent.config import AgentConfigError, load_config
from statera.agent.server import serve

USAGE = "usage: python -m statera.agent --config <agent.json>"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    # argparse costs ~1 MiB per amphora for one option: parse by hand.
    if len(args) == 1 and args[0].startswith("--config="):
        path = args[0].split("=", 1)[1]
    elif len(args) == 2 and args[0] == "--config":
        path = args[1]
    else:
        print(USAGE, file=sys.stderr)
        return 2
    try:
        config = load_config(Path(path))
    except AgentConfigError as exc:
        print(f"statera-agent: {exc}", file=sys.stderr)
        return 2
    try:
        serve(config)
    except OSError as exc:  # includes ssl.SSLError: unreadable certs, address in use
        print(f"statera-agent: cannot serve: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
