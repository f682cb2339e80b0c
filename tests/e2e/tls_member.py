"""A TLS member for e2e tests: a Python HTTPS server in a demo backend's namespace.

It answers `tls-member <negotiated TLS version>` with a certificate for
`member.test` issued by the CA the test gives; it is started and stopped by the
PID this module spawned, nothing else.
"""

from __future__ import annotations

import socket
import ssl
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from tests.e2e.stack import Stack, wait_for
from tests.tls_material import Ca, cert_pem, make_server_cert

from statera.demo.backends import start_backends

TLS_PORT = 8443
SERVER = r"""
import http.server, ssl, sys
cert, key, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = f"tls-member {self.connection.version()}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(cert, key)
server = http.server.ThreadingHTTPServer(("0.0.0.0", port), Handler)
server.socket = context.wrap_socket(server.socket, server_side=True)
server.serve_forever()
"""


def client_context(ca: Ca) -> ssl.SSLContext:
    """Trusts only `ca`: a handshake that succeeds saw a certificate it issued."""
    return ssl.create_default_context(cadata=cert_pem(ca[0]).decode())


@dataclass
class TlsMember:
    """The HTTPS server a test runs in a backend namespace."""

    namespace: str
    address: str
    cert: Path
    key: Path
    ca: Ca
    process: subprocess.Popen[bytes] | None = field(default=None)

    @property
    def certificate_der(self) -> bytes:
        return x509.load_pem_x509_certificate(self.cert.read_bytes()).public_bytes(Encoding.DER)

    def speaks_tls(self) -> bool:
        try:
            with (
                socket.create_connection((self.address, TLS_PORT), timeout=1) as raw,
                client_context(self.ca).wrap_socket(raw, server_hostname="member.test") as tls,
            ):
                return tls.version() is not None
        except OSError:
            return False

    def start(self) -> None:
        argv = [sys.executable, "-c", SERVER, str(self.cert), str(self.key), str(TLS_PORT)]
        self.process = subprocess.Popen(
            ["ip", "netns", "exec", self.namespace, *argv],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(self.speaks_tls, timeout_s=15, what="the TLS member")

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        process.terminate()  # the PID this module started, nothing else
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


@contextmanager
def running_tls_member(stack: Stack, directory: Path, ca: Ca) -> Iterator[TlsMember]:
    """A TLS member on the first demo backend's address, stopped on the way out."""
    backend = start_backends(stack.settings, network="private", count=1, port=8080)[0]
    cert_data, key_data = make_server_cert(ca, ["member.test"])
    member = TlsMember(
        backend.namespace, backend.address, directory / "member.crt", directory / "member.key", ca
    )
    member.cert.write_bytes(cert_data)
    member.key.write_bytes(key_data)
    member.start()
    try:
        yield member
    finally:
        member.stop()
