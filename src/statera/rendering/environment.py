"""The one Jinja environment every Statera template is rendered with.

Strict on purpose: an undefined name is an error (`StrictUndefined`), nothing
is HTML-escaped (these are not HTML files), and every expression goes through
`safety.jinja_finalize`, which refuses newlines, quotes, `#` and backslashes
even if a view-model builder forgot to validate a value. Templates live in
`rendering/templates/` and ship as package data.
"""

from functools import cache

import jinja2

from statera.rendering.safety import jinja_finalize


@cache
def environment() -> jinja2.Environment:
    """The shared environment (built once; `jinja2.Environment` is thread-safe to render)."""
    return jinja2.Environment(
        loader=jinja2.PackageLoader("statera.rendering", "templates"),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        finalize=jinja_finalize,
    )
