"""Where DICOM files come from, read safely: a folder, a .zip, single files or uploaded (name, bytes).

Zip archives are read in memory, never extracted: a member whose name would escape the folder (`..`, an
absolute path) refuses the whole archive, and the member count and total uncompressed size are capped
(zip bombs, including archives whose directory lies about sizes).
"""

from __future__ import annotations

import bz2
import copy
import io
import os
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, BinaryIO

from ovcf_core.errors import InputError

MAX_ZIP_MEMBERS = 5000
MAX_ZIP_BYTES = 1536 * 1024 * 1024  # 1.5 GB uncompressed: a 1000-slice 512x512 CT is about 0.5 GB
MAX_ZIP_MEMBER_BYTES = 4096 * 4096 * 4 + 2**20
"""Largest file inflated from a zip: one 4096 × 4096 slice of 32-bit values plus 1 MB of header (the
per-file limits, `header.MAX_ROWS`/`MAX_COLUMNS`). A larger member is not inflated further: its first
megabyte is kept so the header pass can name the Rows/Columns it declares, and the file is skipped."""
_HEAD_BYTES = 1024 * 1024
_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class DicomFile:
    """One candidate file: its display name and either a path on disk or its bytes in memory."""

    name: str
    path: Path | None = None
    data: bytes | None = field(default=None, repr=False)  # raw upload: never shown (it holds identifiers)
    problem: str | None = None  # why it cannot be used although read (`data` then holds only its start)

    def open(self) -> BinaryIO:
        """Open the file for binary reading, positioned at its start (a BytesIO for an upload)."""
        if self.data is not None:
            return io.BytesIO(self.data)
        assert self.path is not None
        return self.path.open("rb")

    @property
    def size(self) -> int:
        """Return the size in bytes."""
        if self.data is not None:
            return len(self.data)
        assert self.path is not None
        return self.path.stat().st_size


Source = str | Path | bytes | Iterable[str | Path | tuple[str, bytes]]


def _unsafe_member(name: str) -> bool:
    """Whether a zip member name would land outside the folder it is extracted into."""
    normalized = name.replace("\\", "/")
    path = PurePosixPath(normalized)
    return normalized.startswith("/") or (len(normalized) > 1 and normalized[1] == ":") or ".." in path.parts


class _Bzip2Member(io.RawIOBase):
    """A bzip2 zip member inflated at most `n` bytes per read; the CRC-32 is checked at the end.

    zipfile inflates bzip2 without a bound: a few kB of a bomb become hundreds of MB in one read.
    """

    def __init__(self, archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
        raw = copy.copy(info)
        raw.compress_type, raw.file_size = zipfile.ZIP_STORED, info.compress_size
        # None on purpose: zipfile then skips checking the still-compressed bytes against the CRC
        raw.CRC = None  # type: ignore[assignment]  # typeshed types ZipInfo.CRC as int only
        self._raw = archive.open(raw)
        self._inflater = bz2.BZ2Decompressor()
        self._crc, self._expected = 0, info.CRC

    def read(self, n: int = -1) -> bytes:
        """Return at most max(n, 1) inflated bytes; b"" at the end, after the CRC-32 is checked."""
        while not self._inflater.eof:
            data = b"" if not self._inflater.needs_input else self._raw.read(64 * 1024)
            if not data and self._inflater.needs_input:
                raise EOFError("the bzip2 stream ends early")
            out = self._inflater.decompress(data, max(n, 1))
            if out:
                self._crc = zlib.crc32(out, self._crc)
                return out
        if self._crc != self._expected:
            raise zipfile.BadZipFile("bad CRC-32")
        return b""

    def close(self) -> None:
        """Close the compressed stream too."""
        self._raw.close()
        super().close()


def _open_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> IO[bytes] | _Bzip2Member:
    """Open a member for bounded reads (zipfile bounds stored and deflated members itself)."""
    if info.compress_type == zipfile.ZIP_BZIP2:
        return _Bzip2Member(archive, info)
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise ValueError(f"compression method {info.compress_type} is not read (use deflate)")
    return archive.open(info)


def _read_capped(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, budget: int, zip_name: str
) -> tuple[bytes, bool]:
    """Read a member's bytes, refusing to inflate more than `budget` bytes whatever its header claims.

    A member larger than MAX_ZIP_MEMBER_BYTES gives (its first megabyte, True) instead of all of it.
    """
    chunks: list[bytes] = []
    total = 0
    with _open_member(archive, info) as member:
        while True:
            chunk = member.read(_CHUNK)
            if not chunk:
                break
            total += len(chunk)
            if total > budget:
                raise InputError(
                    f"inflates to more than {MAX_ZIP_BYTES // 2**20} MB (a zip bomb?); refused",
                    file=zip_name,
                )
            if total > MAX_ZIP_MEMBER_BYTES:
                return (chunks[0] if chunks else chunk)[:_HEAD_BYTES], True
            chunks.append(chunk)
    return b"".join(chunks), False


def files_in_zip(data: bytes | BinaryIO, zip_name: str) -> list[DicomFile]:
    """Read the files of a zip archive in memory, with the checks of the module docstring.

    Parameters
    ----------
    data
        The archive's bytes or a binary stream of them.
    zip_name
        The archive's name, which starts every member's name (`<zip>/<member>`) and every message.

    Returns
    -------
    list of DicomFile
        One per member that is not a folder; a member larger than one slice of the largest size keeps
        only its first megabyte and a `problem`, so it is skipped with a reason.

    Raises
    ------
    InputError
        Naming the archive, when it is not a readable zip, is empty, has more than MAX_ZIP_MEMBERS
        files, has a member whose path would escape its folder, claims or inflates to more than
        MAX_ZIP_BYTES, or has a member that cannot be read (damaged, an unread compression method).
    """
    stream = io.BytesIO(data) if isinstance(data, bytes) else data
    try:
        archive = zipfile.ZipFile(stream)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise InputError(f"is not a readable zip archive ({exc})", file=zip_name) from None
    with archive:
        infos = [i for i in archive.infolist() if not i.is_dir()]
        if not infos:
            raise InputError("the zip archive is empty", file=zip_name)
        if len(infos) > MAX_ZIP_MEMBERS:
            raise InputError(
                f"holds {len(infos)} files, more than the {MAX_ZIP_MEMBERS} allowed; refused", file=zip_name
            )
        for info in infos:
            if _unsafe_member(info.filename):
                raise InputError(
                    f"member '{info.filename}' would be written outside its folder (path traversal); "
                    "the archive is refused",
                    file=zip_name,
                )
        claimed = sum(i.file_size for i in infos)
        if claimed > MAX_ZIP_BYTES:
            raise InputError(
                f"claims {claimed / 2**30:.1f} GB uncompressed, more than the "
                f"{MAX_ZIP_BYTES // 2**20} MB allowed (a zip bomb?); refused",
                file=zip_name,
            )
        files = []
        budget = MAX_ZIP_BYTES
        for info in infos:
            try:
                content, too_large = _read_capped(archive, info, budget, zip_name)
            except InputError:
                raise
            except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as exc:
                raise InputError(f"member '{info.filename}' cannot be read ({exc})", file=zip_name) from None
            budget -= len(content)
            problem = (
                f"inflates to more than {MAX_ZIP_MEMBER_BYTES // 2**20} MB, more than one slice of the "
                "largest size allowed: refused"
                if too_large
                else None
            )
            files.append(DicomFile(name=f"{zip_name}/{info.filename}", data=content, problem=problem))
    return files


def _is_zip_name(name: str) -> bool:
    """Return whether a file name ends in .zip (any case)."""
    return name.lower().endswith(".zip")


def _files_under(folder: str, parts: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
    """Yield the relative path parts of every file under a folder, as `Path.rglob` finds them.

    Folders are entered unless they are symbolic links; links to files count as files. One `os.scandir`
    per folder, so a 1000-slice series is listed without a `stat` call per file.
    """
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.is_dir() and not entry.is_symlink():
                yield from _files_under(entry.path, (*parts, entry.name))
            elif entry.is_file():
                yield (*parts, entry.name)


def _from_path(path: Path) -> Iterator[DicomFile]:
    """Yield the candidate files of a folder (recursively), a zip or a single file."""
    if not path.exists():
        raise InputError("no such file or folder", file=str(path))
    if path.is_dir():
        for parts in sorted(_files_under(str(path), ())):
            name, child = os.path.join(*parts), path.joinpath(*parts)
            if parts[-1].startswith(".") or parts[-1].upper() == "DICOMDIR":
                continue
            if _is_zip_name(parts[-1]):
                yield from files_in_zip(child.read_bytes(), name)
            else:
                yield DicomFile(name=name, path=child)
    elif _is_zip_name(path.name) or zipfile.is_zipfile(path):
        yield from files_in_zip(path.read_bytes(), path.name)
    else:
        yield DicomFile(name=path.name, path=path)


def collect_files(source: Source) -> list[DicomFile]:
    """Collect every candidate DICOM file of a folder, a .zip, a file, a list of those, or uploads.

    Hidden files and DICOMDIR are passed over; zip archives (by name or, for uploads, by content) are
    read in memory.

    Parameters
    ----------
    source
        A path (folder, .zip or file), the bytes of a zip, or an iterable of paths and (name, bytes)
        uploads.

    Returns
    -------
    list of DicomFile
        The candidates, in sorted order within a folder; nothing is decoded yet.

    Raises
    ------
    InputError
        When a path does not exist, or a zip archive is refused (see `files_in_zip`).
    """
    if isinstance(source, (str, Path)):
        return list(_from_path(Path(source)))
    if isinstance(source, bytes):
        return files_in_zip(source, "upload.zip")
    files: list[DicomFile] = []
    for item in source:
        if isinstance(item, tuple):
            name, data = item
            if _is_zip_name(name) or data[:4] == b"PK\x03\x04":
                files.extend(files_in_zip(data, name))
            else:
                files.append(DicomFile(name=name, data=data))
        else:
            files.extend(_from_path(Path(item)))
    return files
