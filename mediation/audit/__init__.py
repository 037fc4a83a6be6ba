"""The append-only, hash-chained audit trail (docs/audit.md).

``record`` is the one way a row is written; call it inside the transaction of the
change it records, so the row commits or rolls back with it.
"""
from __future__ import annotations

from typing import Any


def record(*, actor: Any, action: str, obj: Any = None, case: Any = None, old: Any = None, new: Any = None,
           reason: Any = "", request: Any = None) -> Any:
    """Write one audit row (see :func:`mediation.audit.log.record`)."""
    from mediation.audit.log import record as write

    return write(actor=actor, action=action, obj=obj, case=case, old=old, new=new, reason=reason, request=request)


def snapshot(obj: Any, fields: Any = None) -> dict[str, Any]:
    """The model instance's field values as the log stores them, personal data masked."""
    from mediation.audit.log import snapshot as take

    return take(obj, fields)
