"""The CLI's allocator settings change no value and are safe to call more than once."""

from __future__ import annotations

import numpy as np

from ovcf_core.process_memory import arrow_uses_system_allocator, one_malloc_arena, release_freed_memory


def test_allocator_settings_are_harmless_and_repeatable():
    pyarrow = __import__("pyarrow")
    before = pyarrow.default_memory_pool()
    try:
        for _ in range(2):
            one_malloc_arena()
            arrow_uses_system_allocator()
        assert pyarrow.default_memory_pool().backend_name == "system"
        data = np.arange(1_000_000, dtype=float)
        release_freed_memory()
        assert data.sum() == 999_999 * 1_000_000 / 2
    finally:
        pyarrow.set_memory_pool(before)
