"""Write the bad-input corpus: files a user will really give the tool, each broken in one way.

Run `python tests/bad_inputs/make_corpus.py` to (re)generate the files next to this script and
`manifest.json`, which says for each file which surface reads it (`cohort` table, `raw` template, `roi`
file, `model` file, `dicom` series), whether it must be refused (`error`), accepted with a message
(`warning`) or accepted silently (`ok`), and a fragment the message must contain (naming the place).
Everything is seeded and small; DICOM files carry a planted PatientName that must never be shown.
"""

from __future__ import annotations

import datetime
import io
import json
import pickle
import struct
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
PLANTED_NAME = "PLANTED^CORPUS"
PLANTED_ID = "PID-CORPUS-7731"
MPEG2_MAIN = "1.2.840.10008.1.2.4.100"
FIXED_TIME = (2024, 1, 1, 0, 0, 0)  # zip member dates, so the corpus is the same on every run
KNOWN_ENCAPSULATED = {MPEG2_MAIN, "1.2.840.10008.1.2.4.102"}
# Files that read and validate cleanly and fail only when analysed (the statistics refuse them).
ANALYSIS_STAGE = {"cohort_one_class_only.csv"}

GOOD_HEADER = "patient_id,ovcf,age,sex,bmi,t_score,hu,vbq,rcsa,fi"


def _good_rows(n: int = 24, seed: int = 20240471) -> list[str]:
    """Rows of a small valid cohort: alternating case/control, overlapping values (no perfect separation)."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        case = i % 2 == 0
        shift = 1.0 if case else 0.0
        rows.append(
            ",".join(
                [
                    f"P{i + 1:02d}",
                    "1" if case else "0",
                    f"{rng.integers(55, 86)}",
                    "F" if (i // 2) % 3 else "M",
                    f"{rng.normal(23.5, 2.5):.1f}",
                    f"{rng.normal(-1.6 - 0.8 * shift, 0.9):.1f}",
                    f"{rng.normal(125 - 30 * shift, 30):.0f}",
                    f"{rng.normal(2.9 + 0.5 * shift, 0.45):.2f}",
                    f"{rng.normal(1.2 - 0.15 * shift, 0.25):.2f}",
                    f"{rng.normal(18 + 8 * shift, 6):.1f}",
                ]
            )
        )
    return rows


GOOD_ROWS = _good_rows()


def _decimal_comma(row: str) -> str:
    """A row with decimal points written as commas (but still comma-delimited, as a careless export does)."""
    return row.replace(".", ",")


def _pair(index: int) -> str:
    """pair_id of row `index`: case/control pairs, except that rows 4 and 23 are left alone."""
    return {4: "B", 23: "D"}.get(index, f"A{index // 2}" if index not in (5, 22) else "")


def good_table(rows: list[str] | None = None, header: str = GOOD_HEADER) -> str:
    """A valid cohort table with optional replacement rows."""
    return "\n".join([header, *(GOOD_ROWS if rows is None else rows)]) + "\n"


def xlsx(rows: list[list[object]], merge: str | None = None) -> bytes:
    """An XLSX workbook with `rows` in its first sheet (and a merged range, as Excel reports have)."""
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    if merge:
        sheet.merge_cells(merge)
    book.properties.created = book.properties.modified = datetime.datetime(2024, 1, 1)
    buffer = io.BytesIO()
    book.save(buffer)
    with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as saved:
        return zip_of(fixed_dates({info.filename: saved.read(info) for info in saved.infolist()}))


def _new_dataset(sop_class: str, uid_sources: list[str]) -> Any:
    """An empty DICOM file of `sop_class` (Explicit VR Little Endian), its SOP instance UID made from
    `uid_sources`."""
    from pydicom.dataset import FileDataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = generate_uid(entropy_srcs=uid_sources)
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = FileDataset(None, {}, file_meta=meta, preamble=b"\0" * 128)
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    return ds


def ct_slice(index: int, *, size: int = 16, hu: int = 100, transfer_syntax: str | None = None) -> bytes:
    """One CT slice as DICOM bytes: a uniform square of `hu` HU, planted identifiers, slice `index`.

    Written attribute by attribute (not by `phantoms.dicom_slice`) so that the corpus files stay the same
    bytes whatever the library's phantoms become.
    """
    from pydicom.uid import CTImageStorage, generate_uid

    ds = _new_dataset(CTImageStorage, ["corpus", str(index), str(hu)])
    ds.StudyInstanceUID = generate_uid(entropy_srcs=["corpus-study"])
    ds.SeriesInstanceUID = generate_uid(entropy_srcs=["corpus-series"])
    ds.PatientName = PLANTED_NAME
    ds.PatientID = PLANTED_ID
    ds.PatientBirthDate = "19450101"
    ds.Modality = "CT"
    ds.InstanceNumber = index + 1
    ds.ImagePositionPatient = [0.0, 0.0, 2.5 * index]
    ds.ImageOrientationPatient = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
    ds.PixelSpacing = [0.7, 0.7]
    ds.SliceThickness = 2.5
    ds.Rows = ds.Columns = size
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 1
    ds.RescaleSlope = 1
    ds.RescaleIntercept = -1024
    ds.PixelData = np.full((size, size), hu + 1024, dtype="<i2").tobytes()
    written_syntax = transfer_syntax
    if transfer_syntax is not None:
        from pydicom.encaps import encapsulate

        # pydicom refuses to write a syntax it does not know: write MPEG-2 (same UID length), then patch it.
        written_syntax = MPEG2_MAIN if transfer_syntax not in KNOWN_ENCAPSULATED else transfer_syntax
        ds.file_meta.TransferSyntaxUID = written_syntax
        ds.PixelData = encapsulate([b"\xff\x0a" + bytes(range(64))])
        ds["PixelData"].VR = "OB"
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    data = buffer.getvalue()
    if transfer_syntax is not None and written_syntax != transfer_syntax:
        assert len(written_syntax) == len(transfer_syntax)
        data = data.replace(written_syntax.encode(), transfer_syntax.encode(), 1)
    return data


def text_report() -> bytes:
    """A DICOM structured report: a valid DICOM file with no pixel data at all."""
    from pydicom.uid import BasicTextSRStorage

    ds = _new_dataset(BasicTextSRStorage, ["corpus-sr"])
    ds.PatientName = PLANTED_NAME
    ds.PatientID = PLANTED_ID
    ds.Modality = "SR"
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def _member(name: str, compression: int) -> zipfile.ZipInfo:
    """A zip member entry with a fixed date, so the corpus is byte-identical on every run."""
    info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
    info.compress_type = compression
    return info


def zip_of(members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    """A zip archive holding `members` (name -> bytes)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(_member(name, compression), data)
    return buffer.getvalue()


def zip_bomb(gigabytes: int = 3) -> bytes:
    """A zip whose one member inflates to `gigabytes` GB of zeros from about a kilobyte (bzip2)."""
    buffer = io.BytesIO()
    chunk = bytes(64 * 1024 * 1024)
    with (
        zipfile.ZipFile(buffer, "w", zipfile.ZIP_BZIP2, compresslevel=9) as archive,
        archive.open(_member("series/slice0001.dcm", zipfile.ZIP_BZIP2), "w", force_zip64=True) as member,
    ):
        for _ in range(gigabytes * 16):
            member.write(chunk)
    return buffer.getvalue()


def forged_size_zip() -> bytes:
    """A small zip whose directory claims its member is 4 GB (a bomb that lies about its size)."""
    data = bytearray(zip_of({"slice0001.dcm": ct_slice(0)}))
    central = data.rfind(b"PK\x01\x02")
    data[central + 24 : central + 28] = struct.pack("<I", 0xFFFFFFFE)
    data[22:26] = struct.pack("<I", 0xFFFFFFFE)
    return bytes(data)


def nifti(data, zooms: tuple[float, ...] = (0.8, 0.8, 2.0)) -> bytes:
    """A gzipped NIfTI-1 image of `data` with a diagonal affine of `zooms`."""
    import gzip

    import nibabel as nib

    data = np.asarray(data)
    affine = np.diag([*zooms[:3], 1.0])
    image = nib.Nifti1Image(data, affine)
    return gzip.compress(image.to_bytes(), mtime=0)


def vertebra_mask(**kwargs) -> bytes:
    """A box mask (40 x 40 x 10 voxels inside a 48 x 48 x 24 grid)."""
    mask = np.zeros((48, 48, 24), dtype=np.uint8)
    mask[4:44, 4:44, 6:16] = 1
    return nifti(mask, **kwargs)


class _Planted:
    """Unpickling this would create a marker file: proof that a model upload was unpickled."""

    def __reduce__(self):
        return (open, ("UNPICKLED_MARKER.txt", "w"))


def roi(**fields: object) -> dict:
    """An ellipse ROI on slice 1 of the 16x16 good series, with fields replaced."""
    base = {"label": "L1", "slice": 1, "shape": "ellipse", "center": [8, 8], "radii": [4, 3]}
    base.update(fields)
    return base


def model_json(**fields: object) -> str:
    """A RiskModel-like JSON document with fields replaced."""
    base = {
        "features": ["vbq", "hu"],
        "adjust": [],
        "coef": {"const": -1.0, "vbq": 1.2, "hu": -0.02},
        "cov": [[0.5, 0.0, 0.0], [0.0, 0.1, 0.0], [0.0, 0.0, 0.0001]],
    }
    base.update(fields)
    return json.dumps(base)


def corpus() -> list[tuple[str, bytes | str, str, str, str, str]]:
    """Every corpus file: (name, content, surface, outcome, expected message fragment, what is wrong)."""
    rows = GOOD_ROWS
    files: list[tuple[str, bytes | str, str, str, str, str]] = [
        # --- cohort tables ---
        ("cohort_empty.csv", b"", "cohort", "error", "empty", "a 0-byte file"),
        ("cohort_blank_lines.csv", "\n \n\t\n", "cohort", "error", "empty", "only whitespace"),
        (
            "cohort_png_named_csv.csv",
            b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR" + bytes(200),
            "cohort",
            "error",
            "binary",
            "a PNG image with a .csv name",
        ),
        (
            "cohort_random_bytes.csv",
            bytes((i * 97 + 13) % 256 for i in range(3000)),
            "cohort",
            "error",
            "cohort_random_bytes.csv",
            "random binary bytes",
        ),
        (
            "cohort_header_only.csv",
            GOOD_HEADER + "\n",
            "cohort",
            "error",
            "no data rows",
            "a header and nothing else",
        ),
        (
            "cohort_old_excel.xls",
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512),
            "cohort",
            "error",
            ".xls",
            "an Excel 97 workbook",
        ),
        (
            "cohort_text_named_xlsx.xlsx",
            good_table(),
            "cohort",
            "error",
            "not an Excel workbook",
            "a CSV renamed to .xlsx",
        ),
        (
            "cohort_corrupt.xlsx",
            b"PK\x03\x04" + bytes(range(256)) * 4,
            "cohort",
            "error",
            "not a readable Excel workbook",
            "a damaged XLSX (zip) file",
        ),
        (
            "cohort_pipe_delimited.csv",
            good_table().replace(",", "|"),
            "cohort",
            "error",
            "missing outcome column",
            "fields separated by | (one column only)",
        ),
        (
            "cohort_decimal_comma_in_comma_csv.csv",
            good_table([_decimal_comma(r) for r in rows]),
            "cohort",
            "error",
            "row 2",
            "decimal commas in a comma-delimited file: row 2 has too many cells",
        ),
        (
            "cohort_semicolon_decimal_comma_bom.csv",
            ("\ufeff" + good_table().replace(",", ";").replace(".", ",")).encode("utf-8"),
            "cohort",
            "ok",
            "",
            "Excel's French/German CSV: BOM, semicolons, decimal commas (must be read correctly)",
        ),
        (
            "cohort_utf16_tab.csv",
            ("\ufeff" + good_table().replace(",", "\t")).encode("utf-16-le"),
            "cohort",
            "ok",
            "",
            "Excel's 'Unicode text': UTF-16 with BOM, tab-delimited (must be read correctly)",
        ),
        (
            "cohort_merged_title_rows.xlsx",
            xlsx(
                [
                    ["OVCF study — measurements", None, None],
                    [None, None, None],
                    *[line.split(",") for line in good_table().splitlines()],
                ],
                merge="A1:J1",
            ),
            "cohort",
            "ok",
            "",
            "an Excel report with a merged title row above the header",
        ),
        (
            "cohort_two_row_header.csv",
            "Demographics,,,,,Indicators,,,,\n" + good_table(),
            "cohort",
            "ok",
            "",
            "a group row (merged cells saved as CSV) above the real header",
        ),
        (
            "cohort_text_in_numbers.csv",
            good_table([*rows, "P99,1,74,F,23,-2.5,abc,3.7,0.9,30"]),
            "cohort",
            "warning",
            "'abc' is not a number",
            "text in the hu column",
        ),
        (
            "cohort_units_in_cells.csv",
            good_table([*rows, "P99,1,74 years,F,23,-2.5,95 HU,3.7,0.9,30"]),
            "cohort",
            "warning",
            "not a number",
            "units typed into numeric cells",
        ),
        (
            "cohort_duplicated_ids.csv",
            good_table([*rows, "P01" + rows[1][3:]]),
            "cohort",
            "warning",
            "duplicated patient_id",
            "the same patient_id twice",
        ),
        (
            "cohort_unpaired_pair_ids.csv",
            good_table([f"{r},{_pair(i)}" for i, r in enumerate(rows)], header=GOOD_HEADER + ",pair_id"),
            "cohort",
            "warning",
            "pair 'B'",
            "pair_ids B and D have one member each",
        ),
        (
            "cohort_impossible_hu.csv",
            good_table([*rows, "P99,1,74,F,23,-2.5,5000,3.7,0.9,30"]),
            "cohort",
            "warning",
            "outside the plausible range",
            "HU of 5000",
        ),
        (
            "cohort_negative_age.csv",
            good_table([*rows, "P99,1,-70,F,23,-2.5,95,3.7,0.9,30"]),
            "cohort",
            "warning",
            "outside the plausible range",
            "a negative age",
        ),
        (
            "cohort_fi_over_100.csv",
            good_table([*rows, "P99,1,70,F,23,-2.5,95,3.7,0.9,130"]),
            "cohort",
            "warning",
            "outside the plausible range",
            "fat infiltration of 130 %",
        ),
        (
            "cohort_infinite_values.csv",
            good_table([*rows, "P99,1,70,F,23,-2.5,inf,3.7,0.9,1e400"]),
            "cohort",
            "warning",
            "outside the plausible range",
            "inf and 1e400 typed as values",
        ),
        (
            "cohort_bad_outcome_values.csv",
            good_table([*rows, "P99,2,70,F,23,-2.5,95,3.7,0.9,30"]),
            "cohort",
            "warning",
            "is not an outcome",
            "outcome 2",
        ),
        (
            "cohort_bad_sex_values.csv",
            good_table([*rows, "P99,1,70,X,23,-2.5,95,3.7,0.9,30"]),
            "cohort",
            "warning",
            "is not a sex",
            "sex X",
        ),
        (
            "cohort_missing_outcome_column.csv",
            good_table(
                [r.split(",", 2)[0] + "," + r.split(",", 2)[2] for r in rows],
                header=GOOD_HEADER.replace("ovcf,", ""),
            ),
            "cohort",
            "error",
            "missing outcome column",
            "no ovcf or group column",
        ),
        (
            "cohort_duplicated_columns.csv",
            good_table([r + ",99" for r in rows], header=GOOD_HEADER + ",HU"),
            "cohort",
            "error",
            "duplicated column",
            "hu and HU both present",
        ),
        (
            "cohort_unnamed_header_cell.csv",
            good_table(header=GOOD_HEADER.replace("age", "")),
            "cohort",
            "error",
            "has no name",
            "a header cell left empty",
        ),
        (
            "cohort_ragged_rows.csv",
            good_table([*rows, "P99,1,70,F,23,-2.5,95,3.7,0.9,30,extra,cells"]),
            "cohort",
            "error",
            "row 26",
            "a row with more cells than the header",
        ),
        (
            "cohort_all_rows_invalid.csv",
            good_table([r.replace(",F,", ",?,").replace(",M,", ",?,") for r in rows]),
            "cohort",
            "error",
            "sex",
            "every row has an invalid sex",
        ),
        (
            "cohort_one_class_only.csv",
            good_table([r.split(",", 2)[0] + ",1," + r.split(",", 2)[2] for r in rows]),
            "cohort",
            "error",
            "control",
            "cases only, no controls",
        ),
        (
            "cohort_formula_injection.csv",
            good_table([*rows, '"=HYPERLINK(""http://x"",""y"")",1,70,F,23,-2.5,95,3.7,0.9,30']),
            "cohort",
            "ok",
            "",
            "a patient_id that a spreadsheet would run as a formula (exports must escape it)",
        ),
        # --- raw measurement templates ---
        (
            "raw_all_vertebrae_fractured.csv",
            "patient_id,ovcf,age,sex,bmi,fractured,hu_L1,hu_L2,hu_L3,hu_L4\nR1,1,70,F,22,L1;L2;L3;L4,80,85,90,95\n",
            "raw",
            "warning",
            "fractured",
            "every L1-L4 vertebra fractured: no average can be formed",
        ),
        (
            "raw_unknown_level.csv",
            "patient_id,ovcf,age,sex,bmi,fractured,hu_L1,hu_L2,hu_L3,hu_L4\nR1,1,70,F,22,L7,80,85,90,95\n",
            "raw",
            "warning",
            "L7",
            "a fractured level that is not L1-L4",
        ),
        (
            "raw_text_in_hu.csv",
            "patient_id,ovcf,age,sex,bmi,fractured,hu_L1,hu_L2,hu_L3,hu_L4\nR1,1,70,F,22,,80,eighty,90,95\n",
            "raw",
            "warning",
            "hu_L2",
            "text in a per-vertebra HU cell",
        ),
        ("raw_empty.csv", b"", "raw", "error", "empty", "a 0-byte raw template"),
        # --- ROI files ---
        ("roi_empty.json", b"", "roi", "error", "roi_empty.json", "a 0-byte ROI file"),
        ("roi_not_json.json", "rois: L1 at 8,8\n", "roi", "error", "roi_not_json.json", "text, not JSON"),
        ("roi_binary.json", bytes(range(256)), "roi", "error", "roi_binary.json", "binary bytes"),
        (
            "roi_no_rois_key.json",
            json.dumps({"regions": [roi()]}),
            "roi",
            "error",
            "rois",
            "the list is under the wrong key",
        ),
        (
            "roi_rois_not_a_list.json",
            json.dumps({"rois": roi()}),
            "roi",
            "error",
            "rois",
            "one ROI object instead of a list",
        ),
        ("roi_empty_list.json", json.dumps({"rois": []}), "roi", "error", "rois", "no ROIs at all"),
        (
            "roi_missing_center.json",
            json.dumps({"rois": [{k: v for k, v in roi().items() if k != "center"}]}),
            "roi",
            "error",
            "center",
            "an ellipse without a center",
        ),
        (
            "roi_negative_radii.json",
            json.dumps({"rois": [roi(radii=[-4, 3])]}),
            "roi",
            "error",
            "radii",
            "a negative radius",
        ),
        (
            "roi_slice_out_of_range.json",
            json.dumps({"rois": [roi(slice=999)]}),
            "roi",
            "error",
            "999",
            "slice 999 in a 3-slice series",
        ),
        (
            "roi_unknown_shape.json",
            json.dumps({"rois": [roi(shape="circle")]}),
            "roi",
            "error",
            "circle",
            "shape 'circle' (only ellipse and polygon)",
        ),
        (
            "roi_polygon_two_points.json",
            json.dumps(
                {"rois": [{"label": "MF", "slice": 1, "shape": "polygon", "points": [[1, 1], [5, 5]]}]}
            ),
            "roi",
            "error",
            "points",
            "a polygon with two points",
        ),
        (
            "roi_nan_center.json",
            '{"rois": [{"label": "L1", "slice": 1, "shape": "ellipse", '
            '"center": [NaN, 8], "radii": [4, 3]}]}',
            "roi",
            "error",
            "center",
            "NaN in the center",
        ),
        (
            "roi_text_numbers.json",
            json.dumps({"rois": [roi(center=["eight", "8"])]}),
            "roi",
            "error",
            "center",
            "numbers written as words",
        ),
        (
            "roi_outside_image.json",
            json.dumps({"rois": [roi(center=[-500, -500])]}),
            "roi",
            "error",
            "L1",
            "an ellipse entirely outside the 16x16 image",
        ),
        (
            "roi_duplicate_labels.json",
            json.dumps({"rois": [roi(), roi(center=[6, 6])]}),
            "roi",
            "error",
            "L1",
            "two ROIs labelled L1",
        ),
        (
            "roi_deep_nesting.json",
            "[" * 20000 + "]" * 20000,
            "roi",
            "error",
            "roi_deep_nesting.json",
            "JSON nested 20000 deep (a parser stack bomb)",
        ),
        # --- model files ---
        (
            "model_pickle.joblib",
            pickle.dumps(_Planted()),
            "model",
            "error",
            "JSON",
            "a pickle (would run code if unpickled)",
        ),
        (
            "model_pickle_named_json.json",
            pickle.dumps(_Planted()),
            "model",
            "error",
            "JSON",
            "a pickle renamed to .json",
        ),
        ("model_empty.json", b"", "model", "error", "model_empty.json", "a 0-byte model"),
        ("model_not_json.json", "coef: vbq=1.2\n", "model", "error", "model_not_json.json", "text, not JSON"),
        ("model_a_list.json", "[1, 2, 3]", "model", "error", "model_a_list.json", "a JSON list"),
        (
            "model_missing_coefficients.json",
            json.dumps({"features": ["vbq", "hu"]}),
            "model",
            "error",
            "coef",
            "features but no coefficients",
        ),
        (
            "model_text_coefficients.json",
            model_json(coef={"const": "a", "vbq": "b", "hu": "c"}),
            "model",
            "error",
            "coef",
            "coefficients written as text",
        ),
        (
            "model_nan_coefficients.json",
            model_json().replace('"vbq": 1.2', '"vbq": NaN'),
            "model",
            "error",
            "coef",
            "a NaN coefficient",
        ),
        (
            "model_covariance_wrong_shape.json",
            model_json(cov=[[1.0, 0.0], [0.0, 1.0]]),
            "model",
            "error",
            "cov",
            "a 2x2 covariance for 3 coefficients",
        ),
        # --- TotalSegmentator masks (`ovcf batch --mask-dir`) ---
        ("mask_empty.nii.gz", b"", "mask", "error", "not a readable NIfTI mask", "a 0-byte mask"),
        (
            "mask_text.nii.gz",
            "vertebra L1\n",
            "mask",
            "error",
            "not a readable NIfTI mask",
            "text, not NIfTI",
        ),
        (
            "mask_truncated.nii.gz",
            vertebra_mask()[:-20],
            "mask",
            "error",
            "not a readable NIfTI mask",
            "a gzipped mask cut short",
        ),
        (
            "mask_all_zero.nii.gz",
            nifti(np.zeros((48, 48, 24), "u1")),
            "mask",
            "error",
            "too small to measure",
            "a mask with no vertebra in it",
        ),
        (
            "mask_4d.nii.gz",
            nifti(np.ones((8, 8, 4, 3), "u1")),
            "mask",
            "error",
            "4-D",
            "a 4-D image instead of a 3-D mask",
        ),
        (
            "mask_other_scan.nii.gz",
            vertebra_mask(zooms=(0.8, 0.8, 200.0)),
            "mask",
            "error",
            "outside the CT series",
            "a mask whose geometry is another scan's",
        ),
        # --- DICOM ---
        ("dicom_empty.dcm", b"", "dicom", "error", "dicom_empty.dcm", "a 0-byte .dcm file"),
        (
            "dicom_text_file.dcm",
            "not a DICOM file\n",
            "dicom",
            "error",
            "dicom_text_file.dcm",
            "a text file with a .dcm name",
        ),
        (
            "dicom_truncated.dcm",
            ct_slice(0)[:-300],
            "dicom",
            "error",
            "dicom_truncated.dcm",
            "a CT slice cut off in its pixel data",
        ),
        (
            "dicom_header_only.dcm",
            ct_slice(0)[:200],
            "dicom",
            "error",
            "dicom_header_only.dcm",
            "only the preamble and first bytes",
        ),
        (
            "dicom_structured_report.dcm",
            text_report(),
            "dicom",
            "error",
            "PixelData",
            "a DICOM structured report: no image",
        ),
        (
            "dicom_jpegxl_no_codec.dcm",
            ct_slice(0, transfer_syntax="1.2.840.10008.1.2.4.110"),
            "dicom",
            "error",
            "1.2.840.10008.1.2.4.110",
            "JPEG XL compressed pixel data: no decoder installed",
        ),
        (
            "dicom_mpeg4_no_codec.dcm",
            ct_slice(0, transfer_syntax="1.2.840.10008.1.2.4.102"),
            "dicom",
            "error",
            "MPEG-4",
            "video-compressed pixel data: no decoder exists",
        ),
        (
            "dicom_zip_traversal.zip",
            zip_of({"../../../tmp/ovcf_evil.dcm": ct_slice(0)}),
            "dicom",
            "error",
            "..",
            "a zip member that would be written outside the folder",
        ),
        (
            "dicom_zip_absolute_path.zip",
            zip_of({"/etc/ovcf_evil.dcm": ct_slice(0)}),
            "dicom",
            "error",
            "/etc/ovcf_evil.dcm",
            "a zip member with an absolute path",
        ),
        (
            "dicom_zip_bomb.zip",
            zip_bomb(),
            "dicom",
            "error",
            "dicom_zip_bomb.zip",
            "a kilobyte that inflates to gigabytes",
        ),
        (
            "dicom_zip_forged_size.zip",
            forged_size_zip(),
            "dicom",
            "error",
            "dicom_zip_forged_size.zip",
            "a zip whose directory claims a 4 GB member",
        ),
        (
            "dicom_zip_corrupt.zip",
            b"PK\x03\x04" + bytes(range(256)) * 2,
            "dicom",
            "error",
            "dicom_zip_corrupt.zip",
            "a damaged zip",
        ),
        (
            "dicom_zip_empty.zip",
            zip_of({}),
            "dicom",
            "error",
            "dicom_zip_empty.zip",
            "a zip with nothing in it",
        ),
        (
            "dicom_zip_no_dicom.zip",
            zip_of({"readme.txt": b"scans to follow\n", "notes.csv": b"a,b\n1,2\n"}),
            "dicom",
            "error",
            "dicom_zip_no_dicom.zip",
            "a zip with no DICOM files",
        ),
    ]
    return files + trust_table_files() + trust_dicom_files()


def fixed_dates(members: dict[str, bytes]) -> dict[str, bytes]:
    """Workbook zip members with the dates in docProps/core.xml fixed: openpyxl stamps the save time as
    'modified' whatever the workbook says, which changed the corpus on every run."""
    import re

    core = members.get("docProps/core.xml")
    if core is not None:
        stamp = rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"
        members["docProps/core.xml"] = re.sub(stamp, b"2024-01-01T00:00:00Z", core)
    return members


def book_bytes(book, patch: dict[str, object] | None = None) -> bytes:
    """An openpyxl workbook as deterministic XLSX bytes; `patch` maps a zip member to a function that
    rewrites its bytes (a lying dimension, a reordered sheet list)."""
    book.properties.created = book.properties.modified = datetime.datetime(2024, 1, 1)
    buffer = io.BytesIO()
    book.save(buffer)
    with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as saved:
        members = fixed_dates({info.filename: saved.read(info) for info in saved.infolist()})
    for name, rewrite in (patch or {}).items():
        members[name] = rewrite(members[name])  # type: ignore[operator]
    return zip_of(members)


def _typed(cell: str) -> object:
    """A CSV cell as Excel stores it: numbers as numbers, the rest as text."""
    try:
        return float(cell) if any(c in cell for c in ".eE") else int(cell)
    except ValueError:
        return cell


def good_book(rows: list[str] | None = None, header: str = GOOD_HEADER, title: str = "Data"):
    """An openpyxl workbook whose one worksheet holds the good cohort table (columns A..J: patient_id,
    ovcf, age, sex, bmi, t_score, hu, vbq, rcsa, fi); cells given as '=...' become formulas."""
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = title
    for line in good_table(rows, header).splitlines():
        sheet.append([_typed(c) for c in line.split(",")])
    return book


def uncached_formula_xlsx(cells: dict[str, str], rows: list[str] | None = None) -> bytes:
    """The good cohort with formula cells (e.g. {'H5': '=G5/40'}) saved by openpyxl: no computed value,
    as a workbook written by a program and never opened in Excel."""
    book = good_book(rows)
    for ref, formula in cells.items():
        book.active[ref] = formula
    return book_bytes(book)


def chart_first_xlsx(with_chart: bool = False) -> bytes:
    """The good cohort on sheet 'Data' after a chart sheet 'Chart1' (first in the workbook's sheet list, as
    Excel writes a chart moved to the front; openpyxl writes worksheets first, so the list is reordered)."""
    import re

    from openpyxl.chart import BarChart, Reference

    book = good_book()
    chart_sheet = book.create_chartsheet(0)
    chart_sheet.title = "Chart1"
    if with_chart:
        chart = BarChart()
        chart.add_data(Reference(book["Data"], min_col=7, min_row=1, max_row=25), titles_from_data=True)
        chart_sheet.add_chart(chart)

    def chart_first(xml: bytes) -> bytes:
        return re.sub(rb'(<sheet name="Data"[^>]*/>)(<sheet name="Chart1"[^>]*/>)', rb"\2\1", xml)

    return book_bytes(book, {"xl/workbook.xml": chart_first})


def far_corner_xlsx(ref: str = "XFD1048576", value: object = 1) -> bytes:
    """A workbook with one value in one cell (by default Excel's last): its declared dimension spans
    17 billion cells."""
    import openpyxl

    book = openpyxl.Workbook()
    book.active[ref] = value
    return book_bytes(book)


def lying_dimension_xlsx(dimension: str = "A1:B2") -> bytes:
    """The good cohort whose sheet's <dimension> tag says `dimension` while the data reach J25."""
    import re

    def lie(xml: bytes) -> bytes:
        return re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="' + dimension.encode() + b'"', xml)

    return book_bytes(good_book(), {"xl/worksheets/sheet1.xml": lie})


def encrypted_workbook() -> bytes:
    """A stand-in for a password-protected XLSX: an OLE2 compound file (the .xls magic) whose directory
    names the 'EncryptionInfo' and 'EncryptedPackage' streams, as Excel's encryption writes it."""
    header = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(16) + b"\x3e\x00\x03\x00\xfe\xff\x09\x00"
    header += bytes(512 - len(header))
    entries = b""
    for name in ("Root Entry", "EncryptionInfo", "EncryptedPackage"):
        encoded = (name + "\0").encode("utf-16-le")
        entries += encoded + bytes(64 - len(encoded)) + struct.pack("<H", len(encoded)) + bytes(62)
    return header + entries + bytes(512 - len(entries) % 512) + bytes(range(256)) * 4


def raw_wide(header: str, *rows: str) -> str:
    """A raw wide template: patient columns, then `header`'s measurement columns, one line per row."""
    return "\n".join([f"patient_id,ovcf,age,sex,bmi,{header}", *rows]) + "\n"


def shipped_model_with_covariance(*, indefinite: bool) -> str:
    """The shipped model file with its covariance made indefinite (one large correlation) or all zero."""
    model = json.loads((HERE.parents[1] / "ovcf_core" / "models" / "default_model.json").read_text())
    cov = np.array(model["covariance"])
    if indefinite:
        cov[1, 2] = cov[2, 1] = 10 * np.sqrt(cov[1, 1] * cov[2, 2])
    else:
        cov[:] = 0.0
    model["covariance"] = cov.tolist()
    return json.dumps(model, indent=1)


def trust_table_files() -> list[tuple[str, bytes | str, str, str, str, str]]:
    """Tables, raw templates and models from the trust review (issue 10): edges once answered silently."""
    rows = GOOD_ROWS
    vbq_all = {f"H{r}": f"=G{r}/40" for r in range(2, 26)}
    return [
        (
            "model_covariance_indefinite.json",
            shipped_model_with_covariance(indefinite=True),
            "model",
            "error",
            "covariance is not positive definite",
            "a symmetric covariance with a negative eigenvalue (some patient's variance below zero)",
        ),
        (
            "model_covariance_zero.json",
            shipped_model_with_covariance(indefinite=False),
            "model",
            "error",
            "covariance is not positive definite",
            "an all-zero covariance (every CI would have zero width)",
        ),
        (
            "cohort_uncached_formula_cells.xlsx",
            uncached_formula_xlsx(
                {"H26": "=G26/40", "H27": "=G27/40"},
                [*rows, "P98,1,70,F,23,-2.5,95,3.7,0.9,30", "P99,0,72,M,25,-1.5,125,2.9,1.1,20"],
            ),
            "cohort",
            "warning",
            "cell H26 of sheet 'Data' is a formula (=G26/40) with no computed value",
            "two vbq cells are formulas saved without values (a program wrote the workbook): rows 26 and "
            "27 are reported and skipped, the 24 others stay usable",
        ),
        (
            "cohort_all_formulas_uncached.xlsx",
            uncached_formula_xlsx(vbq_all),
            "cohort",
            "error",
            "open the file in excel and save it again",
            "every vbq cell is a formula saved without a value: the column would be silently empty",
        ),
        (
            "cohort_missing_outcome_words.csv",
            good_table([*rows, *(f"Q{i},{word},70,F,23,-2.5,95,3.7,0.9,30" for i, word in
                                 enumerate(("NA", "n/a", ".", "missing", "N/A"), start=1))]),
            "cohort",
            "warning",
            "missing outcome",
            "outcomes written NA, n/a, '.', missing: reported as missing by row, never counted as controls",
        ),
        (
            "cohort_huge_numbers.csv",
            good_table([*rows, "P97,1,1e308,F,23,-2.5,95,3.7,0.9,30", "P98,0,70,F,-inf,-2.5,95,3.7,0.9,30",
                        "P99,1,70,F,23,-2.5,95,3.7,Infinity,30"]),
            "cohort",
            "warning",
            "not a finite number",
            "age 1e308, BMI -inf and rCSA Infinity: reported by row and column, never an overflow",
        ),
        (
            "cohort_far_corner_cell.xlsx",
            far_corner_xlsx(),
            "cohort",
            "error",
            "XFD1048576",
            "one value in Excel's last cell: the declared sheet size would allocate gigabytes",
        ),
        (
            "cohort_lying_dimension.xlsx",
            lying_dimension_xlsx(),
            "cohort",
            "ok",
            "",
            "the sheet's dimension tag says A1:B2 but the table reaches J25 (all 24 rows must be read)",
        ),
        (
            "cohort_chart_sheet_first.xlsx",
            chart_first_xlsx(),
            "cohort",
            "warning",
            "the first sheet, 'chart1', is a chart",
            "a chart sheet before the data sheet: the first worksheet with data is read, and named",
        ),
        (
            "cohort_password_protected.xlsx",
            encrypted_workbook(),
            "cohort",
            "error",
            "password",
            "an encrypted workbook (OLE2 with EncryptedPackage), not an old .xls",
        ),
        (
            "cohort_mac_cr_line_endings.csv",
            good_table().replace("\n", "\r"),
            "cohort",
            "ok",
            "",
            "old Mac line endings (CR only): every row must be read",
        ),
        (
            "raw_tiny_csf_signal.csv",
            raw_wide("si_L1,si_L2,si_L3,si_L4,si_csf_L3", "R1,1,70,F,22,300,310,290,305,0.001",
                     "R2,0,68,M,24,300,310,290,305,100"),
            "raw",
            "warning",
            "si_csf_L3",
            "a CSF SI of 0.001: VBQ 300000, far outside 0.5-10, must be flagged, not written",
        ),
        (
            "raw_huge_numbers.csv",
            raw_wide("hu_L1,hu_L2,hu_L3,hu_L4", "R1,1,70,F,22,80,1e400,-inf,95",
                     "R2,0,68,M,24,120,1e308,130,125"),
            "raw",
            "warning",
            "not a finite number",
            "HU cells 1e400 (inf), -inf and 1e308: reported by row and column, left out",
        ),
    ]  # fmt: skip


def dicom_with(data: bytes, *, drop: tuple[str, ...] = (), **changes: object) -> bytes:
    """A DICOM file re-written with attributes removed (`drop`) or changed (keyword=value)."""
    import pydicom

    ds = pydicom.dcmread(io.BytesIO(data))
    for keyword in drop:
        delattr(ds, keyword)
    for keyword, value in changes.items():
        setattr(ds, keyword, value)
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def with_raw_rescale(data: bytes, keyword: str, raw: bytes) -> bytes:
    """A CT slice whose RescaleSlope or RescaleIntercept holds exactly `raw` (4 bytes: '0   ', 'NaN ',
    'abc '), values pydicom refuses to write: a placeholder is written, then its bytes replaced."""
    assert len(raw) == 4
    marker = b"7.75"
    patched = dicom_with(data, **{keyword: 7.75})
    assert patched.count(marker) == 1
    return patched.replace(marker, raw)


def series_zip(slices: dict[str, bytes]) -> bytes:
    """A zip of one series' files (as a user uploads a series)."""
    return zip_of(slices)


def corpus_series(n: int = 3) -> dict[str, bytes]:
    """Slice name -> bytes of an n-slice 16x16 CT series (2.5 mm apart, slice01.dcm is slice 1)."""
    return {f"slice{i:02d}.dcm": ct_slice(i) for i in range(n)}


def declared_size_slice(rows: int, columns: int, frames: int | None = None) -> bytes:
    """A tiny CT file whose header promises Rows x Columns (x NumberOfFrames) pixels it does not hold."""
    changes: dict[str, object] = {"Rows": rows, "Columns": columns}
    if frames is not None:
        changes["NumberOfFrames"] = frames
    return dicom_with(ct_slice(0), **changes)


def deflated_bomb(rows: int = 20000, columns: int = 20000, inflated_mb: int = 72) -> bytes:
    """A deflated-syntax CT file (TransferSyntaxUID 1.2.840.10008.1.2.1.99) of a few kB per 1000 kB it
    inflates to: its header promises rows x columns, its pixel data is `inflated_mb` MB of zeros."""
    import zlib

    from pydicom.uid import DeflatedExplicitVRLittleEndian

    ds_bytes = dicom_with(ct_slice(0), drop=("PixelData",), Rows=rows, Columns=columns)
    import pydicom

    ds = pydicom.dcmread(io.BytesIO(ds_bytes))
    ds.file_meta.TransferSyntaxUID = DeflatedExplicitVRLittleEndian
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    written = buffer.getvalue()
    start = 144 + int.from_bytes(written[140:144], "little")  # after (0002,0000) and the meta group
    body = zlib.decompress(written[start:], -zlib.MAX_WBITS)
    body += struct.pack("<HH", 0x7FE0, 0x0010) + b"OW\0\0" + struct.pack("<I", rows * columns * 2)
    packer = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    out = [written[:start], packer.compress(body)]
    zeros = bytes(2**20)
    for _ in range(inflated_mb):
        out.append(packer.compress(zeros))
    out.append(packer.flush())
    return b"".join(out)


def huge_member_zip(rows: int = 20000, columns: int = 20000, megabytes: int = 72) -> bytes:
    """A small zip (bzip2) whose one DICOM member inflates to `megabytes` MB: a header promising
    rows x columns and zeros for pixel data."""
    head = dicom_with(ct_slice(0), drop=("PixelData",), Rows=rows, Columns=columns)
    head += struct.pack("<HH", 0x7FE0, 0x0010) + b"OW\0\0" + struct.pack("<I", rows * columns * 2)
    buffer = io.BytesIO()
    chunk = bytes(2**20)
    with (
        zipfile.ZipFile(buffer, "w", zipfile.ZIP_BZIP2, compresslevel=9) as archive,
        archive.open(_member("series/slice0001.dcm", zipfile.ZIP_BZIP2), "w", force_zip64=True) as member,
    ):
        member.write(head)
        for _ in range(megabytes):
            member.write(chunk)
    return buffer.getvalue()


def zigzag_points(count: int) -> list[list[int]]:
    """A polygon outline of `count` points zig-zagging inside the 16x16 image."""
    return [[1 + (i % 2) * 13, 1 + (i * 13) // max(count - 1, 1)] for i in range(count)]


def trust_dicom_files() -> list[tuple[str, bytes | str, str, str, str, str]]:
    """DICOM and ROI files from the trust review (issue 10): edges once answered silently."""
    good = corpus_series(3)
    five = corpus_series(5)
    no_position = dicom_with(five["slice01.dcm"], drop=("ImagePositionPatient",))
    slope_zero = with_raw_rescale(ct_slice(0), "RescaleSlope", b"0   ")
    compact = {"separators": (",", ":")}
    return [
        # --- a slice missing from a series: later ROI indices must not shift ---
        (
            "dicom_series_truncated_middle.zip",
            series_zip({**good, "slice01.dcm": good["slice01.dcm"][:-300]}),
            "dicom",
            "error",
            "slice01.dcm",
            "slice 1 of 3 cut short: its place is kept and the ROI on it refused naming the file",
        ),
        (
            "dicom_series_no_position_middle.zip",
            series_zip({**five, "slice01.dcm": no_position}),
            "dicom",
            "error",
            "may be this slice",
            "slice 1 of 5 has no ImagePositionPatient: the 5 mm step shows where it was",
        ),
        (
            "dicom_series_no_position_first.zip",
            series_zip(
                {**corpus_series(4), "slice00.dcm": dicom_with(ct_slice(0), drop=("ImagePositionPatient",))}
            ),
            "dicom",
            "error",
            "ImagePositionPatient (0020,0032)",
            "slice 0 has no ImagePositionPatient and no gap shows where: indices ambiguous, refused",
        ),
        (
            "dicom_series_absent_slice.zip",
            series_zip({k: v for k, v in five.items() if k != "slice01.dcm"}),
            "dicom",
            "error",
            "no file at position",
            "a series with slice 1 absent (a 5 mm step in 2.5 mm spacing): slice 1 is kept empty",
        ),
        (
            "dicom_series_damaged_member.zip",
            series_zip({**corpus_series(4), "slice04.dcm": ct_slice(4)[:400]}),
            "dicom",
            "error",
            "slice04.dcm",
            "a member whose header is cut: it cannot be placed, so the indices are ambiguous",
        ),
        (
            "dicom_series_two_images_one_position.zip",
            series_zip({**good, "slice01_other.dcm": ct_slice(1, hu=300)}),
            "dicom",
            "error",
            "SOPInstanceUID (0008,0018)",
            "two different images at the position of slice 1: neither is measured",
        ),
        (
            "dicom_series_same_file_twice.zip",
            series_zip({**good, "copy_of_slice01.dcm": good["slice01.dcm"]}),
            "dicom",
            "warning",
            "duplicate slice",
            "the same file twice (same SOPInstanceUID): one slice, the copy named",
        ),
        # --- modality LUT: never HU = -1024 or a slope taken as 1 ---
        (
            "dicom_rescale_slope_zero.dcm",
            slope_zero,
            "dicom",
            "error",
            "RescaleSlope (0028,1053) is 0",
            "RescaleSlope 0 (every HU would be the intercept)",
        ),
        (
            "dicom_rescale_slope_nan.dcm",
            with_raw_rescale(ct_slice(0), "RescaleSlope", b"NaN "),
            "dicom",
            "error",
            "RescaleSlope (0028,1053) is 'NaN'",
            "RescaleSlope NaN",
        ),
        (
            "dicom_rescale_slope_inf.dcm",
            with_raw_rescale(ct_slice(0), "RescaleSlope", b"inf "),
            "dicom",
            "error",
            "RescaleSlope (0028,1053) is 'inf'",
            "RescaleSlope inf",
        ),
        (
            "dicom_rescale_slope_text.dcm",
            with_raw_rescale(ct_slice(0), "RescaleSlope", b"abc "),
            "dicom",
            "error",
            "RescaleSlope (0028,1053) is 'abc', not a number",
            "RescaleSlope 'abc'",
        ),
        (
            "dicom_rescale_intercept_text.dcm",
            with_raw_rescale(ct_slice(0), "RescaleIntercept", b"abc "),
            "dicom",
            "error",
            "RescaleIntercept (0028,1052) is 'abc', not a number",
            "RescaleIntercept 'abc'",
        ),
        (
            "dicom_rescale_intercept_nan.dcm",
            with_raw_rescale(ct_slice(0), "RescaleIntercept", b"NaN "),
            "dicom",
            "error",
            "RescaleIntercept (0028,1052) is 'NaN'",
            "RescaleIntercept NaN",
        ),
        (
            "dicom_series_slope_zero_middle.zip",
            series_zip(
                {**good, "slice01.dcm": with_raw_rescale(good["slice01.dcm"], "RescaleSlope", b"0   ")}
            ),
            "dicom",
            "error",
            "RescaleSlope (0028,1053) is 0",
            "slice 1 of 3 with RescaleSlope 0: skipped in place, the ROI on it refused",
        ),
        # --- resource limits: refused from the header, before pixel memory is allocated ---
        (
            "dicom_20000x20000_tiny.dcm",
            declared_size_slice(20000, 20000),
            "dicom",
            "error",
            "20000 × 20000",
            "a 1 kB file whose Rows x Columns promise a 20000 x 20000 slice",
        ),
        (
            "dicom_deflated_20000x20000.dcm",
            deflated_bomb(),
            "dicom",
            "error",
            "20000 × 20000",
            "a deflated data set of 70 kB that inflates to 72 MB and promises a 20000 x 20000 slice",
        ),
        (
            "dicom_zip_20000x20000_member.zip",
            huge_member_zip(),
            "dicom",
            "error",
            "20000 × 20000",
            "a small zip whose member inflates to 72 MB promising a 20000 x 20000 slice",
        ),
        (
            "dicom_huge_frame_count.dcm",
            declared_size_slice(512, 512, frames=100000),
            "dicom",
            "error",
            "NumberOfFrames (0028,0008)",
            "512 x 512 x 100000 frames declared in a 1 kB file",
        ),
        # --- hostile ROI files: refused naming the ROI before any mask is allocated ---
        (
            "roi_polygon_12000_points.json",
            json.dumps(
                {"rois": [{"label": "MF", "slice": 1, "shape": "polygon", "points": zigzag_points(12000)}]},
                **compact,
            ),
            "roi",
            "error",
            "12000 points",
            "a polygon of 12000 points (the limit is 10000)",
        ),
        (
            "roi_ellipse_1e9_wide.json",
            json.dumps({"rois": [roi(radii=[1e9, 3])]}),
            "roi",
            "error",
            "reaches outside",
            "an ellipse 2e9 pixels wide",
        ),
        (
            "roi_huge_radii.json",
            json.dumps({"rois": [roi(radii=[1e300, 1e300])]}),
            "roi",
            "error",
            "reaches outside",
            "radii of 1e300",
        ),
        (
            "roi_slice_1e12.json",
            json.dumps({"rois": [roi(slice=10**12)]}),
            "roi",
            "error",
            "1000000000000",
            "slice 10^12",
        ),
        (
            "roi_nan_polygon_points.json",
            '{"rois": [{"label": "MF", "slice": 1, "shape": "polygon", '
            '"points": [[1, 1], [NaN, 5], [5, 1]]}]}',
            "roi",
            "error",
            "points",
            "NaN in a polygon point",
        ),
        (
            "roi_label_too_long.json",
            json.dumps({"rois": [roi(label="L" * 5000)]}),
            "roi",
            "error",
            "label",
            "a 5000-character label",
        ),
        (
            "roi_label_with_newline.json",
            json.dumps({"rois": [roi(label="L1\nTraceback (most recent call last):")]}),
            "roi",
            "error",
            "label",
            "a label that would split a message over two lines",
        ),
        (
            "roi_too_many_rois.json",
            json.dumps({"rois": [roi(label=f"R{i}") for i in range(1001)]}, **compact),
            "roi",
            "error",
            "1001 ROIs",
            "1001 ROIs in one file (the limit is 1000)",
        ),
    ]


def main() -> None:
    """Write every corpus file and the manifest next to this script."""
    for old in HERE.glob("*"):
        if old.is_file() and old.suffix in {
            ".csv",
            ".xlsx",
            ".xls",
            ".json",
            ".joblib",
            ".dcm",
            ".zip",
            ".gz",
        }:
            old.unlink()
    good = HERE / "good_ct"
    good.mkdir(exist_ok=True)
    for i in range(3):
        (good / f"slice{i:02d}.dcm").write_bytes(ct_slice(i))
    manifest = []
    for name, content, surface, outcome, expect, about in corpus():
        data = content.encode("utf-8") if isinstance(content, str) else content
        (HERE / name).write_bytes(data)
        entry = {"file": name, "surface": surface, "outcome": outcome, "expect": expect, "about": about}
        if name in ANALYSIS_STAGE:
            entry["stage"] = "analysis"
        manifest.append(entry)
    (HERE / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {len(manifest)} corpus files to {HERE}")


if __name__ == "__main__":
    main()
