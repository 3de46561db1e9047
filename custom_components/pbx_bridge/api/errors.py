"""Errors of the provider client library.

Messages never contain secrets: request helpers redact credentials before they build one.
"""

from __future__ import annotations


class PbxError(Exception):
    """Base of every error the client library raises.

    `translation_key`, where a client sets one, names a specific message the integration
    shows (`exceptions.<key>`, placeholders `provider` and `error`) instead of the generic
    message of the error's class: "set the SMS sender option" rather than "cannot be used".
    """

    translation_key: str | None = None


class PbxConnectionError(PbxError):
    """The provider could not be reached, timed out or answered garbage at transport level."""


class PbxAuthError(PbxError):
    """The provider rejected the credentials."""


class PbxPermissionError(PbxError):
    """The credentials are valid but lack a permission the request needs.

    Not an authentication failure: asking for new credentials would not help, so the
    integration raises a repair issue naming `permission` instead of starting reauth.
    """

    def __init__(self, message: str, permission: str | None = None) -> None:
        super().__init__(message)
        self.permission = permission


class PbxRateLimitError(PbxError):
    """The provider asked us to slow down."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PbxResponseError(PbxError):
    """The provider understood the request and said no (or answered something unreadable)."""

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.reason = message


class PbxUnsupportedError(PbxError):
    """The provider's API does not offer this."""


class PbxInvalidInput(PbxError):  # noqa: N818 - the name the design uses
    """Input (from a user or a webhook) that cannot be used."""


class PbxOutcomeUnknownError(PbxConnectionError):
    """A non-idempotent request (dial, announce, SMS) may or may not have been carried out."""


class PbxPartialSendError(PbxError):
    """A message to several recipients failed after reaching some of them (none resent)."""

    def __init__(self, message: str, sent_to: tuple[str, ...]) -> None:
        super().__init__(message)
        self.sent_to = sent_to
