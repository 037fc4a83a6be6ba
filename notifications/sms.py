"""The SMS gateway interface: one method, ``send(phone, text)``.

``settings.SMS_BACKEND`` names the class (a dotted path). The default writes a log line
with the number masked; docs/operations.md ("Reminders") sketches an HTTP gateway.
"""
from __future__ import annotations

import logging
from typing import ClassVar

from django.conf import settings
from django.utils.module_loading import import_string

logger = logging.getLogger("notifications.sms")


class SmsError(Exception):
    """The gateway refused or could not be reached: the reminder stays pending and is tried again."""


def mask(phone: str) -> str:
    """A phone number fit for a log line: 138****0000."""
    digits = "".join(ch for ch in phone if ch.isdigit())
    return f"{digits[:3]}****{digits[-4:]}" if len(digits) >= 8 else "****"


class BaseSmsBackend:
    """Subclass and implement :meth:`send`; raise :class:`SmsError` when the message did not go."""

    def send(self, phone: str, text: str) -> None:
        raise NotImplementedError


class ConsoleSmsBackend(BaseSmsBackend):
    """Writes the message to the log instead of sending it (the default)."""

    def send(self, phone: str, text: str) -> None:
        logger.info("SMS to %s: %s", mask(phone), text)


class LocmemSmsBackend(BaseSmsBackend):
    """Keeps what was sent in ``LocmemSmsBackend.outbox`` (tests)."""

    outbox: ClassVar[list[tuple[str, str]]] = []

    def send(self, phone: str, text: str) -> None:
        self.outbox.append((phone, text))


def get_backend() -> BaseSmsBackend:
    path = getattr(settings, "SMS_BACKEND", "notifications.sms.ConsoleSmsBackend")
    return import_string(path)()


def send_sms(phone: str, text: str) -> None:
    get_backend().send(phone, text)
