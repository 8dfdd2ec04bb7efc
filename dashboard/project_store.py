"""Keep a browser session's work across a reload: an in-memory store keyed by a random token in the URL.

A browser reload starts a new Streamlit session, with an empty `st.session_state`. So that uploaded data,
choices and fitted models survive it, the entry script gives every session a random token, kept in the
URL as `?s=<token>` (`st.query_params`), and copies the session's work (the keys in `state.KEPT_KEYS`) to a
server-side store after each run. A new session whose URL carries a known token gets that work back.

The store is this server process's memory only (nothing is written to disk): each entry expires after
`TTL_SECONDS` without use, an entry larger than `MAX_ENTRY_BYTES` is not kept, and the oldest entries are
dropped when the total passes `MAX_TOTAL_BYTES`. Tokens are 128-bit random (`secrets`); nothing identifying
is logged. Anyone holding the URL on the same server within the expiry sees the same work, as with any
session link; closing the tab without reloading leaves the entry to expire.
"""

from __future__ import annotations

import secrets
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd
import streamlit as st

from dashboard import state

TOKEN_PARAM = "s"  # the query parameter holding the session's token
TOKEN_KEY = "_store_token"  # session key: this session's token
RESTORED_KEY = "_store_restored"  # session key: the token whose work was restored (restore once)
TTL_SECONDS = 4 * 3600
MAX_ENTRY_BYTES = 400 * 1024 * 1024
MAX_TOTAL_BYTES = 1024 * 1024 * 1024
TOKEN_BYTES = 16


@dataclass
class _Entry:
    values: dict[str, Any]
    sizes: dict[str, int]  # approximate bytes of each value (reused while the value is the same object)
    used: float

    @property
    def size(self) -> int:
        return sum(self.sizes.values())


def approximate_size(value: Any, _depth: int = 0) -> int:
    """Estimate a kept value's size in bytes (tables by their memory use, containers item by item)."""
    if _depth > 6:
        return sys.getsizeof(value)
    if isinstance(value, pd.DataFrame):
        return int(value.memory_usage(deep=True).sum())
    if isinstance(value, pd.Series):
        return int(value.memory_usage(deep=True))
    if isinstance(value, (bytes, bytearray, str)):
        return len(value)
    if isinstance(value, Mapping):
        return sum(
            approximate_size(k, _depth + 1) + approximate_size(v, _depth + 1) for k, v in value.items()
        )
    if isinstance(value, (list, tuple, set)):
        return sum(approximate_size(v, _depth + 1) for v in value)
    nbytes = getattr(value, "nbytes", None)
    if isinstance(nbytes, int):
        return nbytes
    attributes = getattr(value, "__dict__", None)
    if isinstance(attributes, dict):
        return sys.getsizeof(value) + approximate_size(attributes, _depth + 1)
    return sys.getsizeof(value)


class SessionStore:
    """Work of many sessions by token, in memory, with expiry and size caps (thread-safe)."""

    def __init__(
        self,
        *,
        ttl: float = TTL_SECONDS,
        max_entry_bytes: int = MAX_ENTRY_BYTES,
        max_total_bytes: int = MAX_TOTAL_BYTES,
    ) -> None:
        self.ttl = ttl
        self.max_entry_bytes = max_entry_bytes
        self.max_total_bytes = max_total_bytes
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, token: str, values: Mapping[str, Any], *, now: float | None = None) -> bool:
        """Keep `values` under `token`; False (and nothing kept) when larger than one entry may be."""
        now = time.monotonic() if now is None else now
        with self._lock:
            previous = self._entries.pop(token, None)
        sizes = {}
        for key, value in values.items():  # a value kept before (the same object) is not measured again
            same = previous is not None and key in previous.values and previous.values[key] is value
            sizes[key] = previous.sizes[key] if same and previous is not None else approximate_size(value)
        if sum(sizes.values()) > self.max_entry_bytes:
            return False
        with self._lock:
            self._entries[token] = _Entry(dict(values), sizes, now)
            self._evict(now)
            return token in self._entries

    def get(self, token: str, *, now: float | None = None) -> dict[str, Any] | None:
        """Return the values kept under `token`, or None when unknown or expired (use renews the expiry)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            self._evict(now)
            entry = self._entries.get(token)
            if entry is None:
                return None
            entry.used = now
            self._entries.move_to_end(token)
            return dict(entry.values)

    def discard(self, token: str) -> None:
        """Forget the work kept under `token`."""
        with self._lock:
            self._entries.pop(token, None)

    @property
    def total_bytes(self) -> int:
        """Return the approximate memory held by every entry."""
        with self._lock:
            return sum(e.size for e in self._entries.values())

    def __len__(self) -> int:
        """Count the sessions whose work is kept."""
        with self._lock:
            return len(self._entries)

    def _evict(self, now: float) -> None:
        """Drop expired entries, then the least recently used until the total fits (lock held)."""
        for token in [t for t, e in self._entries.items() if now - e.used > self.ttl]:
            del self._entries[token]
        total = sum(e.size for e in self._entries.values())
        while total > self.max_total_bytes and self._entries:
            _, entry = self._entries.popitem(last=False)
            total -= entry.size


@st.cache_resource(show_spinner=False)
def session_store() -> SessionStore:
    """Return the one store of this server process."""
    return SessionStore()


def _valid_token(value: Any) -> str | None:
    """Return the URL's token when it looks like one of ours (URL-safe base64 of TOKEN_BYTES bytes)."""
    if not isinstance(value, str) or not 16 <= len(value) <= 64:
        return None
    allowed = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    return value if set(value) <= allowed else None


def begin_run() -> str:
    """Find this session's token, restore the work kept under it, and keep the token in the URL.

    Runs at the start of every run. The token comes from the session, else the URL, else is new; the work is
    restored once per session; page changes clear the URL, so it is put back.
    """
    token = st.session_state.get(TOKEN_KEY)
    if token is None:
        token = _valid_token(st.query_params.get(TOKEN_PARAM)) or secrets.token_urlsafe(TOKEN_BYTES)
        st.session_state[TOKEN_KEY] = token
    if st.session_state.get(RESTORED_KEY) != token:
        st.session_state[RESTORED_KEY] = token
        kept = session_store().get(token)
        for key, value in (kept or {}).items():
            if key not in st.session_state:
                st.session_state[key] = value
    if st.query_params.get(TOKEN_PARAM) != token:
        st.query_params[TOKEN_PARAM] = token
    return token


def end_run() -> None:
    """Keep this session's work after every run (also one cut short by st.stop or st.rerun)."""
    token = st.session_state.get(TOKEN_KEY)
    if token is None:
        return
    values = {key: st.session_state[key] for key in state.KEPT_KEYS if key in st.session_state}
    session_store().put(token, values)
