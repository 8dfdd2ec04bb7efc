"""`threads`: a large table's independent parts on threads, a small table's the same calls at once."""

from __future__ import annotations

import threading

import pytest

from ovcf_core.threads import Inline, beside


def _name_of_thread(*args: int) -> tuple[str, int]:
    return threading.current_thread().name, sum(args)


def _refuse() -> None:
    raise ValueError("row 7: not a number")


def test_inline_runs_at_once_in_the_callers_thread_and_keeps_an_error_for_result():
    future = Inline().submit(_name_of_thread, 1, 2)
    assert future.done() and future.result() == (threading.current_thread().name, 3)
    failed = Inline().submit(_refuse)
    with pytest.raises(ValueError, match="row 7"):
        failed.result()


def test_beside_runs_on_a_thread_of_its_own_only_when_asked():
    name, total = beside(True, _name_of_thread, 4, 5).result(timeout=30)
    assert name.startswith("ovcf-beside") and total == 9
    assert beside(False, _name_of_thread, 4, 5).result() == (threading.current_thread().name, 9)
    with pytest.raises(ValueError, match="row 7"):
        beside(True, _refuse).result(timeout=30)
