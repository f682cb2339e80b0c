"""The domain's error tree. It knows nothing about HTTP; `api/errors.py` maps it.

    StateraError
    ├── NotFound             an object does not exist (or is not the caller's)
    ├── Conflict             the request clashes with existing state
    │   └── ImmutableResource   the load balancer is PENDING_* and cannot change now
    ├── InvalidSpec          the request is well-formed but breaks a rule
    │   └── NotSupported     a valid Octavia value this release does not build yet
    ├── QuotaExceeded        the project's quota would be exceeded
    ├── ProviderUnsupported  the provider driver refuses an option (Octavia's 501)
    ├── Forbidden            the policy does not allow the caller this action
    ├── Unauthenticated      the request carries no valid credentials
    ├── TemporaryError       a worker step failed; retry after a delay
    └── PermanentError       a worker step failed for good; mark ERROR and stop
"""


class StateraError(Exception):
    """Base of every error Statera raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(StateraError):
    @classmethod
    def of(cls, resource: str, object_id: str) -> "NotFound":
        return cls(f"{resource} {object_id} not found.")


class Conflict(StateraError):
    pass


class ImmutableResource(Conflict):
    @classmethod
    def of(cls, load_balancer_id: str) -> "ImmutableResource":
        return cls(f"Load Balancer {load_balancer_id} is immutable and cannot be updated.")


class InvalidSpec(StateraError):
    pass


class NotSupported(InvalidSpec):
    pass


class QuotaExceeded(StateraError):
    pass


class ProviderUnsupported(StateraError):
    @classmethod
    def of(cls, provider: str, message: str) -> "ProviderUnsupported":
        return cls(f"Provider '{provider}' does not support a requested option: {message}")


class Forbidden(StateraError):
    @classmethod
    def by_policy(cls) -> "Forbidden":
        return cls("Policy does not allow this request to be performed.")


class Unauthenticated(StateraError):
    pass


class TemporaryError(StateraError):
    def __init__(self, message: str, *, retry_after_s: float = 2.0) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class PermanentError(StateraError):
    pass
