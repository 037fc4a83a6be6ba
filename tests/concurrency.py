"""Work done in another thread, on a database connection of its own (PostgreSQL's concurrency tests)."""
from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any


class Elsewhere:
    """``work()`` started in another thread at once: ``done`` is set when it has returned;
    :meth:`finish` waits for it and gives what it returned, or raises what it raised."""

    def __init__(self, work: Callable[[], Any]) -> None:
        self.done = threading.Event()
        self._result: Any = None
        self._failure: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(work,))
        self._thread.start()

    def _run(self, work: Callable[[], Any]) -> None:
        from django.db import connections

        try:
            self._result = work()
            self.done.set()
        except BaseException as exc:  # given back by finish()
            self._failure = exc
        finally:
            connections.close_all()

    def finish(self, timeout: float = 30) -> Any:
        self._thread.join(timeout=timeout)
        if self._failure is not None:
            raise self._failure
        assert self.done.is_set(), "the other thread did not finish"
        return self._result
