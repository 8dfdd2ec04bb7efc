"""State that never vanishes (issue 13 item 2): the session store behind a reload (expiry, size caps,
tokens), uploaded data surviving navigation and a reload, and the loaded data named at the top of every page.
"""

from __future__ import annotations

import pandas as pd
import pytest

from dashboard import state
from dashboard.project_store import SessionStore, _valid_token, approximate_size
from ovcf_core import paths
from tests import apptest_tools as tools

DATA = "dashboard/pages/data.py"


def _small_cohort_csv(rows: int = 40) -> bytes:
    lines = paths.SAMPLE_COHORT.read_text(encoding="utf-8").splitlines()
    return ("\n".join(lines[: rows + 1]) + "\n").encode()


def test_store_gives_back_what_was_put_until_it_expires():
    store = SessionStore(ttl=60)
    store.put("a" * 22, {"x": 1}, now=0.0)
    assert store.get("a" * 22, now=59.0) == {"x": 1}
    assert store.get("a" * 22, now=100.0) == {"x": 1}  # the get at 59 s renewed it
    assert store.get("a" * 22, now=161.0) is None
    assert store.get("unknown-token-000000", now=0.0) is None


def test_store_refuses_an_entry_over_its_cap_and_drops_the_oldest_over_the_total():
    table = pd.DataFrame({"v": range(10_000)})  # 80 kB of int64
    size = approximate_size(table)
    assert size == pytest.approx(80_000, rel=0.01)
    store = SessionStore(max_entry_bytes=size // 2, max_total_bytes=10 * size)
    assert store.put("t" * 22, {"cohort": table}) is False and len(store) == 0
    store = SessionStore(max_entry_bytes=2 * size, max_total_bytes=int(2.5 * size))
    for name in ("first", "second", "third"):
        assert store.put(name * 5, {"cohort": table}) is True
    assert store.get("first" * 5) is None  # least recently used, dropped to fit the total
    assert store.get("third" * 5) is not None
    assert store.total_bytes <= 2.5 * size


def test_only_well_formed_tokens_are_taken_from_the_url():
    assert _valid_token("aTdWCVFljOG_U1TPDQbT9Q") == "aTdWCVFljOG_U1TPDQbT9Q"
    for bad in (None, "", "short", "a" * 65, "../../etc/passwd/aaaaaaaa", "<script>alert(1)</script>x"):
        assert _valid_token(bad) is None


def test_uploaded_data_survives_navigation_and_a_reload_within_the_session():
    at = tools.open_page(DATA)
    at = tools.upload(at, 0, "my_cohort.csv", _small_cohort_csv())
    assert at.session_state[state.COHORT_SOURCE].startswith("my_cohort.csv")
    token = at.query_params["s"]
    token = token[0] if isinstance(token, list) else token
    assert _valid_token(token)
    for page in ("dashboard/pages/cohort.py", "dashboard/pages/roc.py", DATA):
        at = at.switch_page(page).run()
        assert not at.exception
        assert len(at.session_state[state.COHORT]) == 40, page
    reloaded = tools.app()  # a browser reload: a new session with the same URL
    reloaded.query_params["s"] = token
    reloaded = reloaded.switch_page("dashboard/pages/cohort.py").run()
    assert not reloaded.exception
    assert len(reloaded.session_state[state.COHORT]) == 40
    assert reloaded.session_state[state.COHORT_IS_SYNTHETIC] is False
    assert "Data: **my_cohort.csv (40 usable rows)**" in reloaded.caption[0].value


def test_a_new_session_without_the_token_starts_on_the_synthetic_sample_and_says_so():
    at = tools.app()
    at.query_params["s"] = "nobodysTokenAtAll000000"
    at = at.switch_page("dashboard/pages/cohort.py").run()
    assert not at.exception
    assert at.session_state[state.COHORT_IS_SYNTHETIC] is True
    assert "synthetic, not real patients" in at.caption[0].value


@pytest.mark.parametrize(
    "page",
    [
        "dashboard/pages/home.py",
        "dashboard/pages/data.py",
        "dashboard/pages/cohort.py",
        "dashboard/pages/calculator.py",
        "dashboard/pages/scans.py",
        "dashboard/pages/report.py",
    ],
)
def test_every_page_names_the_loaded_data_at_the_top(page):
    at = tools.open_page(page)
    assert not at.exception
    assert at.caption[0].value.startswith(":material/science: Data: **synthetic sample cohort")
