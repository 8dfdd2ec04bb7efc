"""Save and restore a session's work as one project file (a zip), so that loading it restores every page.

The project holds the session's tables, column mapping, marker choices, risk models, ROIs and settings.

The zip holds `project.json` (format "ovcf-project", `schema_version` 1: the settings and an index of the
other members), the tables as UTF-8 CSV under `tables/`, the risk models under `models/` in the JSON model
format of `ovcf_core.model.persistence`, and ROI sets under `rois/` in the ROI JSON format of
`ovcf_core.imaging.roi`. Nothing is pickled and nothing is ever unpickled: reading parses JSON and CSV only.

Reading is defensive, as for any upload: the file must be a zip of at most `MAX_FILE_BYTES`, with at most
`MAX_MEMBERS` members, member names from the index only (no absolute or `..` paths), every member at most
`MAX_MEMBER_BYTES` and all together at most `MAX_TOTAL_BYTES` once uncompressed, and no member compressed
more than `MAX_RATIO` times (a zip bomb). Members are read in chunks and stopped at their limit whatever
their header claims. Every problem is an `InputError` with one line naming the member or field.
"""

from __future__ import annotations

import io
import json
import math
import re
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from ovcf_core import __version__
from ovcf_core.errors import InputError
from ovcf_core.model.persistence import check_schema_version

FORMAT = "ovcf-project"
SCHEMA_VERSION = 1
INDEX = "project.json"
MAX_FILE_BYTES = 200 * 1024 * 1024  # the dashboard's upload limit
MAX_MEMBERS = 500
MAX_MEMBER_BYTES = 256 * 1024 * 1024
MAX_TOTAL_BYTES = 512 * 1024 * 1024
MAX_INDEX_BYTES = 5 * 1024 * 1024
MAX_RATIO = 200  # CSV and JSON compress 5-20 times; hundreds of times is a bomb
MAX_TEXT = 300  # longest source / name text kept
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,80}$")  # table, model and ROI-set names


@dataclass(frozen=True)
class ProjectTable:
    """A table of the project: CSV bytes (read back by the page that owns it) and where it came from.

    `source` names the file or sample it was read from (at most `MAX_TEXT` characters are saved) and
    `synthetic` says whether it is the synthetic sample, so a restored page labels it as such.
    """

    data: bytes
    source: str
    synthetic: bool

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, source: str, *, synthetic: bool) -> ProjectTable:
        """Build a table from a DataFrame, written as UTF-8 CSV without its index."""
        return cls(frame.to_csv(index=False).encode("utf-8"), source, synthetic)


@dataclass(frozen=True)
class Project:
    """A session's work.

    Attributes
    ----------
    tables
        Name -> table (e.g. "cohort", "ratings", "matching_pool").
    models
        Name -> parsed model file (the dict of `model.persistence.model_to_dict`).
    rois
        Name -> ROI JSON text of one series (`imaging.roi.dumps_rois`); the name says which series.
    settings
        JSON-ready settings: analysis settings, column mapping, the calculator's fields, the model choice.
    """

    tables: dict[str, ProjectTable] = field(default_factory=dict)
    models: dict[str, dict[str, Any]] = field(default_factory=dict)
    rois: dict[str, str] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)


def _json_ready(value: Any, where: str) -> Any:
    """`value` checked to be plain JSON (dicts with string keys, lists, strings, finite numbers, booleans)."""
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InputError(f"project: {where} holds the non-number {value}")
        return value
    if isinstance(value, Mapping):
        if not all(isinstance(k, str) for k in value):
            raise InputError(f"project: {where} has a key that is not text")
        return {k: _json_ready(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_ready(v, f"{where}[{i}]") for i, v in enumerate(value)]
    raise InputError(f"project: {where} is not a JSON value ({type(value).__name__})")


def _check_name(name: Any, what: str) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise InputError(f"project: {what} name {str(name)[:40]!r} is not a short plain name")
    return name


def write_project(project: Project) -> bytes:
    """Write `project` as zip bytes (deflated): `project.json`, then each table, model and ROI set.

    The bytes are the whole project file, ready to download; `read_project` reads them back.

    Raises
    ------
    InputError
        When a table, model or ROI-set name is not a short plain name, or a setting or model holds a
        value that is not plain JSON (a non-finite number, a non-text key, another type).
    """
    index: dict[str, Any] = {
        "format": FORMAT,
        "schema_version": SCHEMA_VERSION,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "software": {"ovcf_core": __version__},
        "tables": {},
        "models": {},
        "rois": {},
        "settings": _json_ready(project.settings, "settings"),
    }
    members: dict[str, bytes] = {}
    for name, table in project.tables.items():
        member = f"tables/{_check_name(name, 'table')}.csv"
        index["tables"][name] = {
            "file": member,
            "source": table.source[:MAX_TEXT],
            "synthetic": table.synthetic,
        }
        members[member] = table.data
    for name, model in project.models.items():
        member = f"models/{_check_name(name, 'model')}.json"
        index["models"][name] = {"file": member}
        members[member] = json.dumps(_json_ready(model, f"model {name}"), indent=1).encode("utf-8")
    for name, rois in project.rois.items():
        member = f"rois/{_check_name(name, 'ROI set')}.json"
        index["rois"][name] = {"file": member}
        members[member] = rois.encode("utf-8")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(INDEX, json.dumps(index, indent=1, ensure_ascii=False))
        for member, data in members.items():
            archive.writestr(member, data)
    return buffer.getvalue()


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    """Read a member's bytes in chunks, refused past `limit` or `MAX_RATIO` times its compressed size."""
    ceiling = min(limit, max(info.compress_size, 1) * MAX_RATIO)
    if info.file_size > ceiling:
        raise InputError(_too_large(info, limit))
    chunks, total = [], 0
    try:
        with archive.open(info) as stream:
            while chunk := stream.read(1 << 20):
                total += len(chunk)
                if total > ceiling:
                    raise InputError(_too_large(info, limit))
                chunks.append(chunk)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise InputError(f"project: member {info.filename} cannot be read ({exc})") from None
    return b"".join(chunks)


def _too_large(info: zipfile.ZipInfo, limit: int) -> str:
    if info.file_size > limit:
        return f"project: member {info.filename} is larger than {_size(limit)} uncompressed"
    return f"project: member {info.filename} expands more than {MAX_RATIO} times (a zip bomb?)"


def _size(limit: int) -> str:
    """Write a byte limit as people say it (MB from 1 MB up)."""
    return f"{limit // (1024 * 1024)} MB" if limit >= 1024 * 1024 else f"{limit:,} bytes"


def _open(data: bytes, name: str) -> zipfile.ZipFile:
    """Open the zip after the file-level checks (size, signature, member count, encryption)."""
    if len(data) > MAX_FILE_BYTES:
        raise InputError(f"{name}: larger than {_size(MAX_FILE_BYTES)}, not a project file")
    if data[:1] == b"\x80":
        raise InputError(
            f"{name}: looks like a pickle; project files are zip files and pickles are never loaded"
        )
    if data[:2] != b"PK":
        raise InputError(f"{name}: not a project file (a project file is a .zip saved by this tool)")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise InputError(f"{name}: not a readable zip ({exc})") from None
    infos = archive.infolist()
    if len(infos) > MAX_MEMBERS:
        raise InputError(f"{name}: {len(infos)} members; a project file has at most {MAX_MEMBERS}")
    if sum(i.file_size for i in infos) > MAX_TOTAL_BYTES:
        raise InputError(f"{name}: more than {_size(MAX_TOTAL_BYTES)} uncompressed")
    encrypted = [i.filename for i in infos if i.flag_bits & 0x1]
    if encrypted:
        raise InputError(f"{name}: member {encrypted[0]} is encrypted")
    return archive


def _index(archive: zipfile.ZipFile, name: str) -> dict[str, Any]:
    """`project.json`, parsed and checked (format, version, the three member lists, settings)."""
    try:
        info = archive.getinfo(INDEX)
    except KeyError:
        raise InputError(f"{name}: no {INDEX} in the zip; not a project file saved by this tool") from None
    raw = _read_member(archive, info, MAX_INDEX_BYTES)
    try:
        index = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"project: {INDEX} is not valid JSON ({exc})") from None
    if not isinstance(index, dict) or index.get("format") != FORMAT:
        raise InputError(f"project: {INDEX} is not an ovcf project (its 'format' is not '{FORMAT}')")
    check_schema_version(index.get("schema_version"), SCHEMA_VERSION, f"project: {INDEX} field")
    for part in ("tables", "models", "rois", "settings"):
        if not isinstance(index.get(part, {}), dict):
            raise InputError(f"project: {INDEX} field '{part}' must be an object")
    return index


def _reject_constant(constant: str) -> float:
    raise InputError(f"project: the non-number '{constant}' is not allowed")


def _entry_member(entry: Any, part: str, name: str, prefix: str, suffix: str) -> str:
    """Return the member file of one index entry, which must sit where this tool writes it."""
    if not isinstance(entry, dict) or not isinstance(entry.get("file"), str):
        raise InputError(f"project: {INDEX} field {part}.{name} must be an object with a 'file'")
    member = entry["file"]
    if member != f"{prefix}{_check_name(name, part[:-1])}{suffix}":
        raise InputError(
            f"project: {INDEX} field {part}.{name}.file {member[:60]!r} is not {prefix}{name}{suffix}"
        )
    return member


def _member(archive: zipfile.ZipFile, member: str) -> bytes:
    try:
        info = archive.getinfo(member)
    except KeyError:
        raise InputError(f"project: member {member} is listed in {INDEX} but missing from the zip") from None
    return _read_member(archive, info, MAX_MEMBER_BYTES)


def read_project(data: bytes, name: str = "project file") -> Project:
    """Read a project from zip bytes, after every check; never execute or unpickle anything.

    Parameters
    ----------
    data
        The file's bytes.
    name
        How to name the file in messages.

    Returns
    -------
    Project
        Its tables (CSV bytes, to be read back by their own validated readers), models (parsed JSON, to be
        checked by `model.persistence.model_from_dict`), ROI sets (JSON text) and settings.

    Raises
    ------
    InputError
        One line naming the file, member or field that is wrong.
    """
    with _open(data, name) as archive:
        index = _index(archive, name)
        tables: dict[str, ProjectTable] = {}
        for table, entry in index.get("tables", {}).items():
            member = _entry_member(entry, "tables", table, "tables/", ".csv")
            source = entry.get("source", table)
            if not isinstance(source, str) or not isinstance(entry.get("synthetic", False), bool):
                raise InputError(
                    f"project: {INDEX} field tables.{table} needs a text source and a true/false synthetic"
                )
            tables[table] = ProjectTable(
                _member(archive, member), source[:MAX_TEXT], bool(entry.get("synthetic"))
            )
        models: dict[str, dict[str, Any]] = {}
        for model, entry in index.get("models", {}).items():
            member = _entry_member(entry, "models", model, "models/", ".json")
            try:
                parsed = json.loads(_member(archive, member).decode("utf-8"), parse_constant=_reject_constant)
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise InputError(f"project: member {member} is not valid JSON ({exc})") from None
            if not isinstance(parsed, dict):
                raise InputError(f"project: member {member} is not a JSON object (a model file)")
            models[model] = parsed
        rois: dict[str, str] = {}
        for roi_set, entry in index.get("rois", {}).items():
            member = _entry_member(entry, "rois", roi_set, "rois/", ".json")
            try:
                rois[roi_set] = _member(archive, member).decode("utf-8")
            except UnicodeDecodeError:
                raise InputError(f"project: member {member} is not UTF-8 text") from None
    return Project(tables=tables, models=models, rois=rois, settings=dict(index.get("settings", {})))
