"""Desired state to data-plane text: haproxy.cfg and runtime-API commands.

`render_haproxy` turns a `LoadBalancerSpec` into one amphora's haproxy.cfg;
`runtime_commands` finds the stats-socket commands that apply a member-only
change without a reload. Both refuse unsafe values with `UnsafeValue`.
"""

from statera.rendering.errors import UnsafeValue, UnsupportedSpec
from statera.rendering.haproxy import render_haproxy
from statera.rendering.runtime import runtime_commands

__all__ = ["UnsafeValue", "UnsupportedSpec", "render_haproxy", "runtime_commands"]
