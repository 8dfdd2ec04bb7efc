"""`ovcf measure SERIES --roi ROIS.json --json OUT.json`: ROI statistics on a DICOM series (DESIGN §4).

Imports only numpy, python-gdcm and, when a series needs it, pydicom (inside `run`), so the command
starts fast.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Iterator

from ovcf_core.cli.common import add_json_output, one_blas_thread, write_json


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the arguments: the series (folder, .zip or files), ROI file, JSON output, optional series UID."""
    parser.add_argument("series", nargs="+", metavar="SERIES", help="a folder, a .zip, or DICOM files")
    parser.add_argument("--roi", required=True, metavar="ROIS.json", help="ROI file (DESIGN §4)")
    add_json_output(parser)
    parser.add_argument(
        "--series-uid",
        "--series",
        dest="series_uid",
        default=None,
        metavar="UID",
        help="SeriesInstanceUID to measure when the input holds several series",
    )


def run(args: argparse.Namespace) -> int:
    """Measure the ROIs, write the JSON, and list skipped files and protocol warnings on stderr.

    Raises
    ------
    InputError
        The ROI file cannot be read, no series can be measured, the input holds several series and no
        UID picks one, or an ROI is off its image or on a slice with no image (naming file, ROI or tag).
    OutputError
        The JSON cannot be written.
    """
    one_blas_thread()  # measuring ROIs takes no matrix products: no BLAS thread pool to start
    from ovcf_core.imaging import measure_series, read_roi_file

    rois = read_roi_file(args.roi)
    source = args.series[0] if len(args.series) == 1 else args.series
    with _requests_refused():
        result = measure_series(source, rois, series_uid=args.series_uid)
    for skipped in result.skipped:
        note = skipped if str(skipped).startswith("series ") else f"skipped {skipped}"  # series-level notes
        print(f"ovcf measure: warning: {note}", file=sys.stderr)
    for warning in result.protocol.warnings() if result.protocol is not None else ():
        print(f"ovcf measure: warning: {warning}", file=sys.stderr)
    write_json(result.to_dict(), args.json)
    return 0


@contextlib.contextmanager
def _requests_refused() -> Iterator[None]:
    """Measure without importing `requests`, which is slow to import and never used here.

    pydicom, when a series needs it, loads its test-data downloader at import time and takes requests when
    it can, but measuring never downloads, so the downloader falls back to urllib. Refused only here, and
    only when nothing has imported it yet.
    """
    if "requests" in sys.modules:
        yield
        return
    sys.modules["requests"] = None  # type: ignore[assignment]  # makes `import requests` raise ImportError
    try:
        yield
    finally:
        if sys.modules.get("requests", "") is None:
            del sys.modules["requests"]
