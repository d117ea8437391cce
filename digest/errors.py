"""The errors a user can act on. The CLI prints their message on one line and exits non-zero."""


class DigestError(Exception):
    """Root of every error that is the user's or the environment's, not a bug."""


class ConfigError(DigestError):
    """A DIGEST_* setting is missing or malformed."""


class SchemaOutOfDate(DigestError):
    """The database schema is behind the code; `digest db upgrade` fixes it."""


class InvalidEmail(DigestError):
    """An address that cannot receive mail."""


class NotFound(DigestError):
    """A subscriber, source or paper that the user named does not exist."""


class FeedError(DigestError):
    """One feed could not be fetched or parsed; the run records it and goes on."""
