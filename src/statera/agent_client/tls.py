"""The controller's TLS context for agents: trust only Statera's CA, present the client cert.

Hostname checking stays on; the client connects to the agent's IP but tells
TLS to expect the amphora id (`sni_hostname`), which the agent's server cert
carries as its DNS name. So a cert issued to another amphora is refused even
though the same CA signed it.
"""

from __future__ import annotations

import ssl
from pathlib import Path


def client_ssl_context(*, ca_cert: Path, client_cert: Path, client_key: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(ca_cert))
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.check_hostname = True
    context.verify_mode = ssl.CERT_REQUIRED
    context.load_cert_chain(str(client_cert), str(client_key))
    return context
