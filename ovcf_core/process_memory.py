"""Keep a large command's resident memory near what it really holds (CLI processes only).

A million-row cohort is read by pyarrow and analysed on two threads. By default pyarrow allocates from
its own pool (mimalloc or jemalloc), which keeps freed blocks for pyarrow's reuse, and glibc gives
each thread its own arena, whose freed blocks are not returned to the system either; both add hundreds
of megabytes of memory the process no longer uses to its peak. `ovcf analyze` therefore routes
pyarrow through the system allocator, keeps one malloc arena for all threads and hands freed pages
back after reading. Each step is a no-op where it does not apply (no pyarrow, not glibc); none of them
changes a computed value. Library code never calls these: they change process-wide settings.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

M_ARENA_MAX = -8  # glibc's mallopt parameter number for the maximum number of arenas


def _glibc() -> ctypes.CDLL | None:
    """Load the C library when it is glibc (mallopt and malloc_trim exist), else return None."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt  # noqa: B018 (an AttributeError here means another C library)
        libc.malloc_trim  # noqa: B018
    except (OSError, AttributeError):
        return None
    return libc


def one_malloc_arena() -> None:
    """Keep one glibc malloc arena for all threads; call before any thread starts (not glibc: nothing)."""
    libc = _glibc()
    if libc is not None:
        libc.mallopt(M_ARENA_MAX, 1)


def arrow_uses_system_allocator() -> None:
    """Send pyarrow's allocations to the system allocator (nothing without pyarrow).

    Call before reading with pyarrow; a command reading on a thread calls it there, which imports pyarrow
    on that thread instead of before the thread starts.
    """
    try:
        import pyarrow

        pyarrow.set_memory_pool(pyarrow.system_memory_pool())
    except Exception:  # no pyarrow, or one without these functions: its default pool stays
        pass


def release_freed_memory() -> None:
    """Give the pages of freed memory back to the system (glibc's malloc_trim; else nothing)."""
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)
