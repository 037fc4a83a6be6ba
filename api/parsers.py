"""The request bodies the API reads: JSON as DRF reads it, and a body nested too deep to read is
refused as unreadable JSON (400), never a server error."""
from __future__ import annotations

from typing import Any

from rest_framework import exceptions, parsers


class JSONParser(parsers.JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:  # e.g. {"a":{"a":{"a":… thousands deep: Python's decoder gives up
            raise exceptions.ParseError() from None
