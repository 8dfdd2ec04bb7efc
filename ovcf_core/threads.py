"""Running independent parts of a large table's work on threads, and the same calls at once on a small one.

numpy's sorts and products and pyarrow's hashing release the interpreter, so such parts overlap on
threads; for a small table starting threads costs more than it saves, and `Inline` runs each call at once
behind the same `Executor` interface, so the caller's code is the same either way.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


class Inline(Executor):
    """An executor that runs each call immediately in the caller's thread (small tables)."""

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        """Run ``fn(*args, **kwargs)`` now; its result or exception waits in the returned future."""
        future: Future[T] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as exc:  # the caller's .result() raises it, as with a real executor
            future.set_exception(exc)
        return future


def beside(threaded: bool, work: Callable[..., T], *args: Any) -> Future[T]:
    """Start ``work(*args)`` on a thread of its own when `threaded`, else run it at once (`Inline`).

    Parameters
    ----------
    threaded
        Whether the table is large enough for the thread to pay.
    work, args
        The call; the caller collects its result (or exception) with ``.result()`` when it needs it.

    Returns
    -------
    Future
        The call's future; the thread ends after this one call.
    """
    if not threaded:
        return Inline().submit(work, *args)
    pool = ThreadPoolExecutor(1, thread_name_prefix="ovcf-beside")
    future = pool.submit(work, *args)
    pool.shutdown(wait=False)
    return future
