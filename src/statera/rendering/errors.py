"""Why a specification could not be rendered.

The API validates every value before it reaches a spec; these errors are the
renderer's own second line of defence. `UnsafeValue` means a value could have
changed the structure of the generated file (or is not what its field says it
is) and names the field, so a bug upstream is found instead of shipped.
`UnsupportedSpec` means the spec is valid Octavia but asks for a feature this
renderer does not build into HAProxy.
"""


class UnsafeValue(ValueError):
    """A value refused by the renderer; `field` names where it came from."""

    def __init__(self, field: str, value: object, reason: str) -> None:
        # repr() so a newline or quote in the value is visible in logs.
        super().__init__(f"{field}: refusing {value!r}: {reason}")
        self.field = field
        self.value = value
        self.reason = reason


class UnsupportedSpec(ValueError):
    """A valid spec that asks for something this renderer does not build."""
