"""Helpers for driving the whole app (streamlit_app.py) with AppTest: pages, uploaders, everything shown."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "streamlit_app.py"
CORPUS = ROOT / "tests" / "bad_inputs"
TIMEOUT = 120


def app() -> AppTest:
    """The hosted app (banner + every page), not yet run."""
    return AppTest.from_file(str(APP), default_timeout=TIMEOUT)


def page_paths() -> list[str]:
    """Script paths of every page registered in st.navigation, relative to the app's folder."""
    at = app().run()
    return sorted(
        str(Path(info["script_path"]).resolve().relative_to(ROOT)) for info in at._registered_pages.values()
    )


def open_page(page: str) -> AppTest:
    """A fresh session showing `page` (a path relative to the repository root)."""
    at = app().run()
    return at.switch_page(page).run()


def shown_bytes(at: AppTest) -> bytes:
    """Everything the session sends to the browser: every element's protobuf (text, tables, figures)."""
    chunks = []

    def walk(node) -> None:
        proto = getattr(node, "proto", None)
        if proto is not None:
            chunks.append(proto.SerializeToString())
        for child in (getattr(node, "children", None) or {}).values():
            walk(child)

    walk(at._tree)
    return b"\n".join(chunks)


def shown_text(at: AppTest) -> str:
    """`shown_bytes` decoded leniently, for searching messages."""
    return shown_bytes(at).decode("utf-8", errors="replace")


@contextmanager
def recorded_media() -> Iterator[list[bytes]]:
    """Collect the bytes of every download and media file the app hands to Streamlit."""
    from streamlit.runtime.media_file_manager import MediaFileManager

    original = MediaFileManager.add
    seen: list[bytes] = []

    def add(self, path_or_data, *args, **kwargs):
        if isinstance(path_or_data, bytes):
            seen.append(path_or_data)
        elif isinstance(path_or_data, str) and Path(path_or_data).is_file():
            seen.append(Path(path_or_data).read_bytes())
        return original(self, path_or_data, *args, **kwargs)

    MediaFileManager.add = add
    try:
        yield seen
    finally:
        MediaFileManager.add = original


def accepts(uploader, suffix: str) -> bool:
    """Whether a file uploader takes files ending in `suffix` (e.g. '.csv')."""
    types = [t.lower().lstrip(".") for t in uploader.allowed_type]
    return not types or suffix.lower().lstrip(".") in types


def dicom_zip(folder: Path) -> bytes:
    """A zip of the DICOM files in `folder`, as a user would upload a series."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.iterdir()):
            archive.write(path, f"series/{path.name}")
    return buffer.getvalue()


def upload(at: AppTest, index: int, name: str, data: bytes) -> AppTest:
    """Upload one file to the `index`-th uploader (as a list when it takes several files) and rerun."""
    uploader = at.file_uploader[index]
    payload = (name, data, "application/octet-stream")
    uploader.set_value([payload] if uploader.accept_multiple_files else payload)
    return at.run()
