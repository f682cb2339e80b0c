"""Serve Keystone's WSGI application on 127.0.0.1 with the standard library (test harness).

Run with Keystone's own interpreter: `python serve_keystone.py CONFIG_DIR PORT`. Keystone's
config parser reads sys.argv, so the arguments are taken and then cleared before import.
"""

import os
import sys
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

config_dir, port = sys.argv[1], int(sys.argv[2])
sys.argv = sys.argv[:1]
os.environ["OS_KEYSTONE_CONFIG_DIR"] = config_dir
os.environ["OS_KEYSTONE_CONFIG_FILES"] = "keystone.conf"

from keystone.wsgi.api import application  # noqa: E402


class Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


make_server(
    "127.0.0.1", port, application, server_class=Server, handler_class=QuietHandler
).serve_forever()
