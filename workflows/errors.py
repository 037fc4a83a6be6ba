"""Errors a lifecycle service raises; each carries a message for the user, in their language."""
from __future__ import annotations


class CaseActionError(Exception):
    """The action was refused and nothing changed."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return str(self.message)


class ActionNotAllowed(CaseActionError):
    """The case's state (or an unmet condition) does not allow the action now."""


class ConcurrentChange(CaseActionError):
    """Someone else changed the case first; the user should reload and look again."""
