"""What the export's worker processes run. Imports nothing that needs Django set up at import time:
a spawned worker unpickles these functions before ``init`` has called ``django.setup()``."""
from __future__ import annotations

import atexit
import logging
from typing import Any


def init() -> None:
    # Spawned, not forked: a fork would copy the parent's database connections and
    # Pango/fontconfig state, neither safe to share. Each worker builds its own fonts.
    import django

    django.setup()
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    atexit.register(_drop_fonts)


def _drop_fonts() -> None:
    # A FontConfiguration removes its temporary font folder in __del__; left to interpreter
    # teardown that fails ("'NoneType' object is not callable") and the folder stays in /tmp.
    from mediation.documents import fonts

    fonts._per_thread.__dict__.pop("fonts", None)


def render(template_name: str, context: dict[str, Any], pdf_variant: str | None) -> bytes:
    from mediation.documents.render import render_pdf

    return render_pdf(template_name, context, pdf_variant=pdf_variant)
