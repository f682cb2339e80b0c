"""The `statera` command: `up`, `db`, `agent`, `demo`.

`statera agent` is dispatched before click is even imported: the agent runs
once per amphora and must stay small (see statera.agent).
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["agent"]:
        from statera.agent.__main__ import main as agent_main

        sys.exit(agent_main(args[1:]))
    from statera.cli.commands import cli

    cli.main(args=args, prog_name="statera")
