"""The second factor: TOTP devices, recovery codes, the QR code that sets one up, and the middleware
that finds the device a session was verified with."""
from __future__ import annotations

from base64 import b32encode
from binascii import unhexlify
from typing import Any

import segno
from django.apps import apps
from django.conf import settings
from django.db import transaction
from django_otp.middleware import OTPMiddleware as DjangoOTPMiddleware
from django_otp.models import Device
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice, default_key

from mediation import prepared

RECOVERY_CODE_COUNT = 10
TOTP_DEVICE_NAME = "totp"
RECOVERY_DEVICE_NAME = "recovery"


def new_key() -> str:
    return default_key()


def secret_base32(key: str) -> str:
    """The key as authenticator apps take it when typed in by hand."""
    return b32encode(unhexlify(key)).decode().rstrip("=")


def provisioning_uri(user: Any, key: str) -> str:
    return TOTPDevice(user=user, key=key, name=TOTP_DEVICE_NAME).config_url


def qr_svg(uri: str) -> str:
    """The otpauth URI as an inline SVG QR code, drawn on the server (nothing from elsewhere)."""
    return segno.make(uri, error="m").svg_inline(scale=5, border=2, title="TOTP")


def _totp(key: str) -> TOTP:
    return TOTP(unhexlify(key), step=30, t0=0, digits=6, drift=0)


def confirm_totp(user: Any, key: str, token: str) -> TOTPDevice | None:
    """Create the user's TOTP device from ``key`` if ``token`` is its current code (±1 step)."""
    totp = _totp(key)
    tolerance = getattr(settings, "OTP_TOTP_TOLERANCE", 1)
    if not token.isdigit() or not totp.verify(int(token), tolerance=tolerance):
        return None
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).delete()
        return TOTPDevice.objects.create(user=user, name=TOTP_DEVICE_NAME, key=key, confirmed=True,
                                         last_t=totp.t())


def has_totp(user: Any) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def new_recovery_codes(user: Any) -> list[str]:
    """Replace the user's recovery codes with ten new ones (each works once); returned only here."""
    with transaction.atomic():
        device, _ = StaticDevice.objects.get_or_create(user=user, name=RECOVERY_DEVICE_NAME,
                                                       defaults={"confirmed": True})
        device.token_set.all().delete()
        codes = [StaticToken.random_token() for _ in range(RECOVERY_CODE_COUNT)]
        StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes


def recovery_codes_left(user: Any) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


def verify(user: Any, token: str) -> TOTPDevice | StaticDevice | None:
    """The device that accepts ``token``: six digits go to the TOTP device, anything else is a recovery code.

    Each device throttles its own failures (``OTP_TOTP_THROTTLE_FACTOR``,
    ``OTP_STATIC_THROTTLE_FACTOR``); a recovery code is deleted when it is used.
    """
    from django_otp import verify_token

    model: type[TOTPDevice] | type[StaticDevice] = (
        TOTPDevice if len(token) == 6 and token.isdigit() else StaticDevice)
    for device in model.objects.filter(user=user, confirmed=True):
        found = verify_token(user, device.persistent_id, token)
        if found is not None:
            return found
    return None


class OTPMiddleware(DjangoOTPMiddleware):
    """django-otp's middleware (``settings.MIDDLEWARE``), with the device a verified session names read
    by a statement planned once per connection (``prepared.rows_of_anyone``, the device's id its
    parameter): every request of a verified user reads it, and django-otp's own read (a query built,
    compiled and planned each time) cost 0.6 ms of the server's CPU where this one costs 0.25
    (docs/performance.md, "Twentieth pass"). The same
    device, and the same answer to a name that is not one (no device); what the middleware then checks
    — the device is the user's and confirmed, else the session forgets it — is django-otp's. One name
    is answered otherwise, on purpose: a model that is not a device ("auth.user/3", which only a
    session written by hand could hold) names no device here, where django-otp fails on it (an error
    page, the name kept). The application is served by WSGI: the asynchronous path
    (``_adevice_from_persistent_id``) is django-otp's own."""

    def _device_from_persistent_id(self, persistent_id: str) -> Any:
        # ``Device.from_persistent_id``: "app_label.model/id", anything else names no device.
        model_label, _slash, device_id = self._normalize_persistent_id(persistent_id).rpartition("/")
        try:
            pk = int(device_id)
            model = apps.get_model(model_label)
        except (ValueError, LookupError):
            return None
        if not issubclass(model, Device):
            return None
        found = prepared.rows_of_anyone(("second factor device", model._meta.label_lower),
                                        lambda pk: model.objects.filter(id=pk), (pk,))
        return found[0] if found else None
