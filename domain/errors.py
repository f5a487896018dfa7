"""Domain errors: each names what went wrong; the API maps each kind to one HTTP status."""


class DomainError(Exception):
    """Base of every refusal the domain or application can make."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(DomainError):
    """The request is well-formed but its values break a rule (HTTP 422)."""


class InvalidModelFile(InvalidInput):
    """An uploaded file is not a mesh we can analyse (HTTP 422)."""


class FileTooLarge(DomainError):
    """An upload is larger than the configured cap (HTTP 413)."""


class NotFound(DomainError):
    """The thing asked for does not exist, or is not the caller's to see (HTTP 404)."""


class Conflict(DomainError):
    """The command cannot apply to the current state, e.g. an illegal FSM move (HTTP 409)."""


class BadRequest(DomainError):
    """The request cannot be taken as sent, e.g. a webhook whose signature fails (HTTP 400)."""


class Unauthorized(DomainError):
    """No valid credentials were presented (HTTP 401)."""


class Forbidden(DomainError):
    """The caller is known but may not do this (HTTP 403)."""


class Unavailable(DomainError):
    """A dependency (database, projection) did not answer in time (HTTP 503)."""


class QuotaExceeded(DomainError):
    """A hard-capped meter has no included units left this period (HTTP 402)."""

    def __init__(self, message: str, *, tier: str, included: int) -> None:
        super().__init__(message)
        self.tier = tier
        self.included = included


class TooManyAttempts(DomainError):
    """Too many wrong tries (2FA codes): refused until retry_after seconds pass (HTTP 429)."""

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class DailyLimitReached(TooManyAttempts):
    """A per-user daily limit (contact messages) is used up until next_allowed_at (HTTP 429)."""

    def __init__(self, message: str, *, retry_after: int, next_allowed_at: str) -> None:
        super().__init__(message, retry_after=retry_after)
        self.next_allowed_at = next_allowed_at
