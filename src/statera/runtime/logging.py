"""One logging set-up for every Statera process: time, level, logger, message on stderr."""

import logging
import sys


def setup_logging(*, debug: bool = False) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if debug else logging.INFO)
    for noisy in ("httpx", "httpcore", "uvicorn.access", "pyroute2"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
