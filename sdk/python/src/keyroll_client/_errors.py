"""The one exception type the SDK raises."""

from __future__ import annotations

from typing import Optional


class KeyrollClientError(Exception):
    """An error raised by the SDK.

    ``code`` is keyroll's problem ``code`` for a refusal (``SUCCESSOR_ALREADY_CLAIMED``,
    ``ROTATION_IN_PROGRESS``, ...) or one of the SDK's own codes (``NO_KEY``, ``NO_KEYROLL_URL``,
    ``INVALID_OPTIONS``, ``SOURCE_READ_FAILED``, ``SOURCE_WRITE_FAILED``, ``LOCK_TIMEOUT``,
    ``NETWORK_ERROR``, ``CLAIM_FAILED``, ``AUTO_ROTATE_FAILED``, ``BAD_RESPONSE``, ``CLOSED``);
    ``status`` is the HTTP status of the answer that caused it, ``None`` when there was none.
    """

    def __init__(self, code: str, message: str, status: Optional[int] = None) -> None:
        super().__init__(message)
        self.code = code
        self.status = status

    def __repr__(self) -> str:
        return f"KeyrollClientError({self.code!r}, {str(self)!r}, status={self.status!r})"
