"""Writing results safely: JSON-safe values, and files replaced whole or not at all.

A result file is written to a temporary file in the same folder and moved over the target with
`os.replace`, so a killed process or a full disk never leaves a half-written file where a good one was.
Devices and pipes (``/dev/stdout``, ``/dev/full``) cannot be replaced and are written directly; a failed
write there is still reported, never taken as success.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import stat
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from ovcf_core.errors import OvcfError

STDOUT = "-"


class OutputError(OvcfError):
    """An output that cannot be written (missing folder, a folder given as file, disk full, no permission)."""


def json_safe(value: Any) -> Any:
    """Convert a value to what JSON can hold: NaN/inf -> None, numpy scalars and arrays -> numbers, lists.

    Parameters
    ----------
    value
        Any result value: dicts and sequences are converted recursively (dict keys become text).

    Returns
    -------
    Any
        The converted value; `json.dumps(..., allow_nan=False)` accepts it.
    """
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        return json_safe(value.tolist())
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def output_problem(target: str, *, stdout_ok: bool = True) -> str | None:
    """Say why `target` cannot be written (None when it can), checked before any work starts.

    Parameters
    ----------
    target
        The output path, or ``-`` for standard output.
    stdout_ok
        Whether standard output is acceptable for this output.

    Returns
    -------
    str or None
        One line (empty name, a folder given, missing folder, not writable), or None.
    """
    if target == STDOUT:
        return None if stdout_ok else "cannot write this output to standard output ('-'); give a file name"
    if not target.strip():
        return "empty output file name"
    path = Path(target)
    if path.is_dir():
        return f"{target} is a folder; give a file name inside it"
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.exists():
        return f"the folder {parent} does not exist"
    if not parent.is_dir():
        return f"{parent} is not a folder"
    if path.exists() and not os.access(path, os.W_OK):
        return f"{target} is not writable"
    if not path.exists() and not os.access(parent, os.W_OK | os.X_OK):
        return f"cannot create files in the folder {parent}"
    return None


def _mode_for(path: Path) -> int:
    """Return the permission bits the replaced file keeps: the old file's, or 0666 less the umask."""
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def sync_folder(folder: Path) -> None:
    """Flush a folder to disk (fsync) so a rename in it survives a crash; ignored where not possible.

    Parameters
    ----------
    folder
        The folder the file was renamed in.
    """
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def is_regular_or_absent(path: Path) -> bool:
    """Tell whether `path` is a regular file or not there yet (a device or pipe is written in place).

    Parameters
    ----------
    path
        The output path.

    Returns
    -------
    bool
        True for a regular file or a path that does not exist.
    """
    try:
        return stat.S_ISREG(path.stat().st_mode)
    except FileNotFoundError:
        return True


@contextlib.contextmanager
def replacing(target: str | os.PathLike, mode: str = "w") -> Iterator[IO[Any]]:
    """Open `target` for writing so that it is replaced whole on success and untouched on failure.

    Parameters
    ----------
    target
        The file to write (a symlink is followed: its target is replaced, the link kept).
    mode
        ``w`` (UTF-8 text, newlines as written) or ``wb``.

    Yields
    ------
    IO
        A file object in the target's folder; on a clean exit it is flushed, synced and moved over the
        target. Devices and pipes are written in place.

    Raises
    ------
    OutputError
        For any OSError, as one line naming the path.
    """
    path = Path(os.path.realpath(target))  # a symlinked output: replace what it points to, keep the link
    kwargs: dict[str, Any] = {} if "b" in mode else {"encoding": "utf-8", "newline": ""}
    try:
        if not is_regular_or_absent(path):
            with open(path, mode, **kwargs) as handle:
                yield handle
            return
        import tempfile  # here, not at the top: `ovcf measure` prints to stdout without it

        fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
        try:
            os.fchmod(fd, _mode_for(path))
            with os.fdopen(fd, mode, **kwargs) as handle:
                yield handle
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, path)
            sync_folder(path.parent)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temp)
            raise
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise OutputError(f"cannot write {path}: {reason}") from None


def write_text(target: str | os.PathLike, text: str) -> None:
    """Write text to `target` (replaced whole, or untouched on failure), or to stdout when it is '-'.

    Parameters
    ----------
    target
        The file, or ``-``.
    text
        The content.

    Raises
    ------
    OutputError
        When the file or standard output cannot be written.
    """
    if str(target) == STDOUT:
        try:
            sys.stdout.write(text)
            sys.stdout.flush()
        except OSError as exc:
            raise OutputError(f"cannot write to standard output: {exc.strerror or exc}") from None
        return
    with replacing(target) as handle:
        handle.write(text)


def write_bytes(target: str | os.PathLike, data: bytes) -> None:
    """Write bytes to `target`, replaced whole or untouched on failure.

    Parameters
    ----------
    target
        The file (not standard output: binary output goes to files).
    data
        The content.

    Raises
    ------
    OutputError
        When the file cannot be written.
    """
    with replacing(target, "wb") as handle:
        handle.write(data)


def write_json(obj: Any, target: str | os.PathLike) -> None:
    """Write `obj` as indented JSON (NaN -> null) to `target`, or to stdout when it is '-'.

    Parameters
    ----------
    obj
        The result (converted by `json_safe`).
    target
        The file, or ``-``.

    Raises
    ------
    OutputError
        When the output cannot be written.
    """
    write_text(target, json.dumps(json_safe(obj), indent=2, allow_nan=False) + "\n")
