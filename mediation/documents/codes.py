"""Verification codes printed on every issued document.

16 characters of Crockford's base32 (80 random bits from ``secrets``): far too
many to guess or enumerate through the public verification page, short enough
to type from paper in four groups (``7KQ2-M9XD-4HRT-0BWC``). Crockford's
alphabet has no I, L, O or U, and reading normalises the look-alikes (O→0,
I/L→1), case and separators, so a code read aloud or retyped still matches.
"""
from __future__ import annotations

import re
import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
LENGTH = 16
GROUP = 4
_LOOKALIKES = str.maketrans({"O": "0", "I": "1", "L": "1"})
_SEPARATORS = re.compile(r"[\s\-_.·—–]+")
_VALID = re.compile(f"^[{ALPHABET}]{{{LENGTH}}}$")


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def normalize_code(text: str) -> str | None:
    """The stored form of a typed code, or None when it cannot be one."""
    code = _SEPARATORS.sub("", (text or "").strip().upper()).translate(_LOOKALIKES)
    return code if _VALID.match(code) else None


def format_code(code: str) -> str:
    return "-".join(code[i:i + GROUP] for i in range(0, len(code), GROUP))


#: A grouped code as printed, for finding it in text extracted from a PDF.
PRINTED_CODE = re.compile(rf"[{ALPHABET}]{{4}}-[{ALPHABET}]{{4}}-[{ALPHABET}]{{4}}-[{ALPHABET}]{{4}}")
