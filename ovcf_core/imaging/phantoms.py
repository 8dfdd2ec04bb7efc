"""Synthetic DICOM phantoms written with pydicom, whose true values are known by construction.

Three small series, shipped in `sample_data/dicom/` (regenerate with `python -m ovcf_core.imaging.phantoms`):

* CT axial (64×64, 8 slices): the mid-axial slice of L1–L4, each with a uniform trabecular core of known HU
  (stored with RescaleSlope 1, RescaleIntercept -1024).
* MR T1 sagittal (128×128, 3 slices): L1–L4 bodies of known SI and a CSF column of known SI on the middle
  slice; the side slices hold other values, so a wrongly sorted series gives wrong answers.
* MR T2 axial (128×128, 2 slices, discs L3-4 and L4-5): psoas (PM), multifidus (MF) and erector spinae (ES)
  on both sides with an exact count of fat pixels, the disc, and subcutaneous fat.

Files are written in shuffled order with shuffled InstanceNumbers, so only sorting along the slice normal
recovers the anatomy. Each carries planted fake identifiers (`PLANTED_IDENTIFIERS`) to test de-identification.
Everything here is synthetic.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ovcf_core.imaging.roi import Roi, Shape, dumps_rois

PLANTED_IDENTIFIERS = {
    "PatientName": "PHANTOM^SYNTHETIC^PLANTED",
    "PatientID": "SYN-PID-90417",
    "PatientBirthDate": "19380214",
    "InstitutionName": "PLANTED GENERAL HOSPITAL",
    "ReferringPhysicianName": "PLANTED^REFERRER",
    "AccessionNumber": "ACC-PLANTED-55",
}
AXIAL = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)
SAGITTAL = (0.0, 1.0, 0.0, 0.0, 0.0, -1.0)


def dicom_slice(
    stored: np.ndarray,
    *,
    modality: str,
    position: Sequence[float],
    orientation: Sequence[float] = AXIAL,
    spacing: tuple[float, float] = (1.0, 1.0),
    series_uid: str,
    instance_number: int,
    slope: float = 1.0,
    intercept: float = 0.0,
    thickness: float = 3.0,
    description: str = "synthetic phantom",
    identifiers: dict[str, str] | None = None,
) -> bytes:
    """Write one single-frame greyscale CT/MR slice as DICOM bytes (Explicit VR Little Endian).

    Parameters
    ----------
    stored
        The stored pixel values (before the rescale).
    modality
        ``"CT"`` or ``"MR"``.
    position, orientation, spacing
        ImagePositionPatient, ImageOrientationPatient and PixelSpacing (mm).
    series_uid, instance_number
        SeriesInstanceUID and InstanceNumber.
    slope, intercept
        RescaleSlope and RescaleIntercept (HU = slope × stored + intercept for CT).
    thickness, description
        SliceThickness (mm) and SeriesDescription.
    identifiers
        Extra attributes by keyword (e.g. a fake PatientName to test de-identification).

    Returns
    -------
    bytes
        The DICOM file.
    """
    from pydicom.dataset import FileDataset, FileMetaDataset
    from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, MRImageStorage, generate_uid

    sop_class = CTImageStorage if modality == "CT" else MRImageStorage
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = generate_uid(entropy_srcs=[series_uid, str(instance_number)])
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = FileDataset("", {}, file_meta=meta, preamble=b"\0" * 128)  # in memory: no file name
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = generate_uid(entropy_srcs=[series_uid, "study"])
    ds.SeriesInstanceUID = series_uid
    ds.FrameOfReferenceUID = generate_uid(entropy_srcs=[series_uid, "frame of reference"])
    for keyword, value in (PLANTED_IDENTIFIERS if identifiers is None else identifiers).items():
        setattr(ds, keyword, value)
    ds.Modality = modality
    ds.SeriesDescription = description
    ds.InstanceNumber = instance_number
    ds.ImagePositionPatient = [float(v) for v in position]
    ds.ImageOrientationPatient = [float(v) for v in orientation]
    ds.PixelSpacing = [float(spacing[0]), float(spacing[1])]
    ds.SliceThickness = thickness
    ds.Rows, ds.Columns = stored.shape
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = ds.BitsStored = 16
    ds.HighBit = 15
    signed = stored.dtype.kind == "i"
    ds.PixelRepresentation = 1 if signed else 0
    if modality == "CT" or slope != 1.0 or intercept != 0.0:
        ds.RescaleSlope = slope
        ds.RescaleIntercept = intercept
    if modality == "MR":
        ds.MagneticFieldStrength = 1.5
    ds.PixelData = stored.astype("<i2" if signed else "<u2").tobytes()
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


@dataclass(frozen=True)
class Phantom:
    """A synthetic series (file name -> bytes), the ROIs that measure it, and the values they must give."""

    name: str
    files: dict[str, bytes]
    rois: tuple[Roi, ...]
    truth: dict[str, float]  # label -> true mean inside the ROI (HU or SI)
    fat_percent: dict[str, float] = field(default_factory=dict)  # muscle label -> true FI (%)
    area_mm2: dict[str, float] = field(default_factory=dict)  # label -> true area of the structure (mm²)

    def uploads(self) -> list[tuple[str, bytes]]:
        """Return the files as sorted (name, bytes) pairs, as an upload would give them."""
        return sorted(self.files.items())


def _shuffled_files(name: str, slices: Sequence[np.ndarray], builder, seed: int) -> dict[str, bytes]:
    """Write slices under shuffled file names with shuffled InstanceNumbers (sorting must use position)."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(slices))
    numbers = rng.permutation(len(slices)) + 1
    return {f"{name}_{int(order[i]):03d}.dcm": builder(i, int(numbers[i])) for i in range(len(slices))}


def _ellipse(rows: int, columns: int, cx: float, cy: float, rx: float, ry: float) -> np.ndarray:
    y, x = np.mgrid[0:rows, 0:columns]
    return ((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2 <= 1.0


def ct_lumbar_phantom(size: int = 64) -> Phantom:
    """Build an axial CT through L4, L3, L2, L1 (slices 1, 3, 5, 7 from the feet up) of known HU.

    Parameters
    ----------
    size
        Rows and columns of each slice.

    Returns
    -------
    Phantom
        The files, an ellipse ROI in each body's trabecular bone and its true HU.
    """
    hu = {"L1": 152.0, "L2": 138.0, "L3": 121.0, "L4": 109.0}
    level_slice = {"L4": 1, "L3": 3, "L2": 5, "L1": 7}
    cx, cy = size / 2, size / 2 + 4
    series_uid = "1.2.826.0.1.3680043.8.498.1001"
    images = []
    for index in range(8):
        image = np.full((size, size), -1000.0)
        image[_ellipse(size, size, size / 2, size / 2, size * 0.47, size * 0.44)] = 40.0
        level = next((lv for lv, s in level_slice.items() if s == index), None)
        image[_ellipse(size, size, cx, cy, 16, 13)] = 600.0
        image[_ellipse(size, size, cx, cy, 14, 11)] = hu[level] if level else 85.0
        images.append(image)

    def build(i: int, number: int) -> bytes:
        stored = np.round(images[i] + 1024).astype(np.int16)
        return dicom_slice(
            stored,
            modality="CT",
            position=(-25.6, -25.6, -120.0 + 3.0 * i),
            spacing=(0.8, 0.8),
            series_uid=series_uid,
            instance_number=number,
            slope=1.0,
            intercept=-1024.0,
            description="synthetic lumbar CT phantom",
        )

    rois = tuple(
        Roi(level, level_slice[level], Shape.ELLIPSE, center=(cx, cy), radii=(8.0, 6.0)) for level in hu
    )
    return Phantom("ct_axial", _shuffled_files("ct", images, build, 7), rois, truth=hu)


def mr_t1_sagittal_phantom(size: int = 128) -> Phantom:
    """Build a sagittal T1 MR: L1–L4 bodies and a CSF column of known SI on the middle of 3 slices.

    `size` as for `ct_lumbar_phantom`; the phantom's ROIs are those VBQ measures, its truth their SI.
    """
    si = {"L1": 320.0, "L2": 330.0, "L3": 345.0, "L4": 360.0}
    csf = 100.0
    series_uid = "1.2.826.0.1.3680043.8.498.1002"
    top = {"L1": 16, "L2": 42, "L3": 68, "L4": 94}  # first row of each 20-row body; discs between
    body_cols, csf_cols = (36, 64), (74, 81)
    images = []
    for index in range(3):
        offset = 0.0 if index == 1 else 60.0
        image = np.full((size, size), 150.0)
        image[:, csf_cols[0] : csf_cols[1]] = csf + offset
        for level, row in top.items():
            image[row : row + 20, body_cols[0] : body_cols[1]] = si[level] + offset
        images.append(image)

    def build(i: int, number: int) -> bytes:
        return dicom_slice(
            np.round(images[i]).astype(np.uint16),
            modality="MR",
            position=(-4.0 + 4.0 * i, -64.0, 200.0),
            orientation=SAGITTAL,
            spacing=(1.0, 1.0),
            series_uid=series_uid,
            instance_number=number,
            thickness=4.0,
            description="synthetic T1 sagittal lumbar phantom",
        )

    cx = (body_cols[0] + body_cols[1] - 1) / 2
    rois = [
        Roi(level, 1, Shape.ELLIPSE, center=(cx, row + 9.5), radii=(9.0, 6.0)) for level, row in top.items()
    ]
    csf_x = (csf_cols[0] + csf_cols[1] - 1) / 2
    rois.append(Roi("CSF_L3", 1, Shape.ELLIPSE, center=(csf_x, top["L3"] + 9.5), radii=(2.5, 6.0)))
    truth = {**si, "CSF_L3": csf}
    return Phantom("mr_t1_sagittal", _shuffled_files("t1", images, build, 11), tuple(rois), truth=truth)


# muscle -> (row0, row1, col0, col1) on the patient's right (image left); the left side is mirrored
_MUSCLES = {"PM": (44, 57, 30, 41), "ES": (78, 93, 40, 53), "MF": (80, 91, 55, 62)}
_FAT_SHARE = {"PM": 0.06, "MF": 0.18, "ES": 0.12}
MUSCLE_SI, FAT_SI, DISC_SI, SUBCUTANEOUS_FAT_SI = 80.0, 400.0, 250.0, 420.0


def mr_t2_axial_phantom(size: int = 128) -> Phantom:
    """Build an axial T2 MR at discs L3-4 and L4-5: muscles with an exact number of fat pixels.

    `size` as for `ct_lumbar_phantom`; the phantom's ROIs are the muscles, discs and fat, with their true
    SI, FI (`fat_percent`) and areas.
    """
    series_uid = "1.2.826.0.1.3680043.8.498.1003"
    spacing = (0.8, 0.8)
    levels = ("L3L4", "L4L5")
    rng = np.random.default_rng(20240471)
    images = []
    rois: list[Roi] = []
    truth: dict[str, float] = {}
    fat_percent: dict[str, float] = {}
    area: dict[str, float] = {}
    pixel_area = spacing[0] * spacing[1]
    for index, level in enumerate(levels):
        image = np.full((size, size), 150.0)
        disc = _ellipse(size, size, 63.5, 52.0, 17.0 + 2 * index, 12.0)
        image[disc] = DISC_SI
        rois.append(
            Roi(f"DISC_{level}", index, Shape.ELLIPSE, center=(63.5, 52.0), radii=(17.0 + 2 * index, 12.0))
        )
        truth[f"DISC_{level}"] = DISC_SI
        area[f"DISC_{level}"] = float(disc.sum()) * pixel_area
        image[110:116, 24:104] = SUBCUTANEOUS_FAT_SI
        rois.append(Roi(f"FAT_{level}", index, Shape.RECTANGLE, points=((30.0, 111.0), (97.0, 114.0))))
        truth[f"FAT_{level}"] = SUBCUTANEOUS_FAT_SI
        for muscle, (r0, r1, c0, c1) in _MUSCLES.items():
            for side in ("R", "L"):
                if side == "L":
                    c0, c1 = size - 1 - c1, size - 1 - c0
                n = (r1 - r0 + 1) * (c1 - c0 + 1)
                k = round(_FAT_SHARE[muscle] * n) + index
                values = np.full(n, MUSCLE_SI)
                values[rng.permutation(n)[:k]] = FAT_SI
                image[r0 : r1 + 1, c0 : c1 + 1] = values.reshape(r1 - r0 + 1, c1 - c0 + 1)
                label = f"{muscle}_{side}_{level}"
                corners = [
                    (c0 - 0.5, r0 - 0.5),
                    (c1 + 0.5, r0 - 0.5),
                    (c1 + 0.5, r1 + 0.5),
                    (c0 - 0.5, r1 + 0.5),
                ]
                rois.append(Roi(label, index, Shape.POLYGON, points=tuple(corners)))
                truth[label] = float(values.mean())
                fat_percent[label] = 100.0 * k / n
                area[label] = n * pixel_area
        images.append(image)

    def build(i: int, number: int) -> bytes:
        return dicom_slice(
            np.round(images[i]).astype(np.uint16),
            modality="MR",
            position=(-51.2, -51.2, 40.0 - 35.0 * i),
            spacing=spacing,
            series_uid=series_uid,
            instance_number=number,
            thickness=4.0,
            description="synthetic T2 axial paraspinal phantom",
        )

    # sorted along +z, slice 0 is the inferior level (L4-5): level index i is sorted slice 1 - i
    rois = [Roi(r.label, 1 - r.slice, r.shape, r.center, r.radii, r.points) for r in rois]
    files = _shuffled_files("t2", images, build, 13)
    return Phantom("mr_t2_axial", files, tuple(rois), truth=truth, fat_percent=fat_percent, area_mm2=area)


def all_phantoms() -> tuple[Phantom, ...]:
    """Build the three shipped phantoms (CT, T1 sagittal, T2 axial)."""
    return ct_lumbar_phantom(), mr_t1_sagittal_phantom(), mr_t2_axial_phantom()


def write_phantom(phantom: Phantom, folder: str | Path) -> Path:
    """Write a phantom into `folder`: DICOM files in `series/`, and `rois.json` and `truth.json` beside it.

    Parameters
    ----------
    phantom, folder
        The phantom, and the folder to write it into: created if needed; `.dcm` files already in its
        `series/` are removed first.

    Returns
    -------
    Path
        `folder`.
    """
    folder = Path(folder)
    series = folder / "series"
    series.mkdir(parents=True, exist_ok=True)
    for old in series.glob("*.dcm"):
        old.unlink()
    for name, data in phantom.files.items():
        (series / name).write_bytes(data)
    (folder / "rois.json").write_text(dumps_rois(phantom.rois) + "\n", encoding="utf-8")
    (folder / "truth.json").write_text(
        json.dumps(
            {"truth": phantom.truth, "fat_percent": phantom.fat_percent, "area_mm2": phantom.area_mm2},
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )
    return folder


def write_sample_dicom(root: str | Path | None = None) -> list[Path]:
    """Regenerate `sample_data/dicom/<phantom>/` for every phantom.

    Parameters
    ----------
    root
        Where to write (default: the shipped `sample_data/dicom`).

    Returns
    -------
    list of Path
        The folders written.
    """
    from ovcf_core import paths

    root = Path(root) if root is not None else paths.SAMPLE_DICOM
    return [write_phantom(p, root / p.name) for p in all_phantoms()]


if __name__ == "__main__":
    for written in write_sample_dicom():
        print(f"wrote {written}")


# ------------------------------------------------------------------------------------------------ masks

CT_MASK_HU = {"L1": 147.0, "L2": 133.0, "L3": 118.0, "L4": 104.0}
"""True trabecular HU of the CT mask phantom (uniform inside the cortical shell)."""


@dataclass(frozen=True)
class MaskPhantom:
    """A phantom series with masks of its structures and the indicators they must give.

    `images` and `labels` are in the series' sorted order (slice along the normal, row, column), read
    straight from the phantom's DICOM bytes with pydicom; `affine_lps` maps (slice, row, column) to LPS mm;
    `source_names` gives each canonical label the name a segmentation tool would write; `truth` holds the
    indicators computed with numpy on `images` and `labels` alone (no code of the measuring path).
    """

    phantom: Phantom
    images: np.ndarray = field(repr=False)
    labels: dict[str, np.ndarray] = field(repr=False)
    affine_lps: np.ndarray = field(repr=False)
    source_names: dict[str, str]
    truth: dict[str, float]

    def value_table(self) -> dict[int, str]:
        """Return value -> source name of the multi-label NIfTI (1, 2, … in `labels` order)."""
        return {i + 1: self.source_names[name] for i, name in enumerate(self.labels)}

    def label_array(self) -> np.ndarray:
        """Return the labels as one integer array in sorted series order (values as `value_table`)."""
        out = np.zeros(self.images.shape, dtype=np.uint16)
        for i, mask in enumerate(self.labels.values()):
            out[mask] = i + 1
        return out

    def _nifti(self, data: np.ndarray, shift_mm: Sequence[float]) -> bytes:
        """Write (slice, row, column) `data` as gzipped NIfTI-1, as dcm2niix would.

        Axes (column, row, slice) and a RAS affine; `shift_mm` moves it in LPS (a deliberately misplaced
        mask).
        """
        import gzip

        import nibabel as nib

        lps = np.eye(4)
        lps[:3, 0], lps[:3, 1], lps[:3, 2] = (
            self.affine_lps[:3, 2],
            self.affine_lps[:3, 1],
            self.affine_lps[:3, 0],
        )
        lps[:3, 3] = self.affine_lps[:3, 3] + np.asarray(shift_mm, dtype=float)
        ras = np.diag([-1.0, -1.0, 1.0, 1.0]) @ lps
        image = nib.Nifti1Image(np.ascontiguousarray(np.transpose(data, (2, 1, 0))), ras)
        return gzip.compress(image.to_bytes(), mtime=0)

    def nifti(self, shift_mm: Sequence[float] = (0.0, 0.0, 0.0)) -> bytes:
        """Return the multi-label NIfTI (values per `value_table`) as gzipped bytes.

        Parameters
        ----------
        shift_mm
            A shift in LPS mm, to make a deliberately misplaced mask.

        Returns
        -------
        bytes
            The ``.nii.gz`` file.
        """
        return self._nifti(self.label_array(), shift_mm)

    def nifti_files(self) -> dict[str, bytes]:
        """Return one NIfTI per structure, named as the tool would (``vertebrae_L1.nii.gz`` …), 1 = inside."""
        return {
            f"{self.source_names[name]}.nii.gz": self._nifti(mask.astype(np.uint8), (0.0, 0.0, 0.0))
            for name, mask in self.labels.items()
        }


def _sorted_images(phantom: Phantom) -> tuple[np.ndarray, np.ndarray]:
    """Read a phantom's files with pydicom, sorted along the slice normal: (images, affine).

    The geometry comes from its headers, independently of `series.load_series`.
    """
    import pydicom

    datasets = [pydicom.dcmread(io.BytesIO(data)) for data in phantom.files.values()]
    orientation = np.array(datasets[0].ImageOrientationPatient, dtype=float)
    normal = np.cross(orientation[:3], orientation[3:])
    datasets.sort(key=lambda ds: float(np.dot(np.array(ds.ImagePositionPatient, dtype=float), normal)))
    images = np.stack(
        [
            ds.pixel_array.astype(np.float64) * float(ds.get("RescaleSlope", 1.0))
            + float(ds.get("RescaleIntercept", 0.0))
            for ds in datasets
        ]
    )
    origins = np.array([ds.ImagePositionPatient for ds in datasets], dtype=float)
    spacing = [float(v) for v in datasets[0].PixelSpacing]
    affine = np.eye(4)
    affine[:3, 0] = (origins[-1] - origins[0]) / max(len(datasets) - 1, 1)
    affine[:3, 1] = orientation[3:] * spacing[0]
    affine[:3, 2] = orientation[:3] * spacing[1]
    affine[:3, 3] = origins[0]
    return images, affine


def ct_mask_phantom(size: int = 48) -> MaskPhantom:
    """Build an axial CT of 24 slices of 2 mm with masks of L1–L4 (six slices each, L4 at the feet).

    Each vertebral body is a 600 HU cortical shell around trabecular bone of known HU (`CT_MASK_HU`); its
    mask is the whole body, so the erosion must keep the shell out of the mean. `size` as for
    `ct_lumbar_phantom`; the phantom's truth holds each level's HU, the mask phantom's their average.
    """
    series_uid = "1.2.826.0.1.3680043.8.498.1004"
    cx, cy = size / 2 - 0.5, size / 2 + 2.5
    outer = _ellipse(size, size, cx, cy, 14, 11)
    inner = _ellipse(size, size, cx, cy, 12, 9)
    order = ("L4", "L3", "L2", "L1")
    images = []
    for index in range(24):
        image = np.full((size, size), -1000.0)
        image[_ellipse(size, size, size / 2, size / 2, size * 0.47, size * 0.44)] = 40.0
        image[outer] = 600.0
        image[inner] = CT_MASK_HU[order[index // 6]]
        images.append(image)

    def build(i: int, number: int) -> bytes:
        return dicom_slice(
            np.round(images[i] + 1024).astype(np.int16),
            modality="CT",
            position=(-19.2, -19.2, -120.0 + 2.0 * i),
            spacing=(0.8, 0.8),
            series_uid=series_uid,
            instance_number=number,
            intercept=-1024.0,
            thickness=2.0,
            description="synthetic lumbar CT mask phantom",
        )

    rois = tuple(
        Roi(level, 6 * order.index(level) + 3, Shape.ELLIPSE, center=(cx, cy), radii=(8.0, 6.0))
        for level in CT_MASK_HU
    )
    phantom = Phantom(
        "ct_axial_masks", _shuffled_files("ctm", images, build, 17), rois, truth=dict(CT_MASK_HU)
    )
    sorted_images, affine = _sorted_images(phantom)
    labels = {}
    for level in CT_MASK_HU:
        mask = np.zeros(sorted_images.shape, dtype=bool)
        first = 6 * order.index(level)
        mask[first : first + 6] = outer
        labels[level] = mask
    truth = {"hu": float(np.mean(list(CT_MASK_HU.values())))}
    names = {level: f"vertebrae_{level}" for level in labels}
    return MaskPhantom(phantom, sorted_images, labels, affine, names, truth)


def t1_mask_phantom() -> MaskPhantom:
    """Build the T1 sagittal phantom with masks of L1–L4 (on all three slices) and of the CSF column.

    Returns
    -------
    MaskPhantom
        With the true VBQ, also with L2 left out as fractured (``vbq_l2_fractured``).
    """
    phantom = mr_t1_sagittal_phantom()
    images, affine = _sorted_images(phantom)
    top = {"L1": 16, "L2": 42, "L3": 68, "L4": 94}
    labels = {}
    for level, row in top.items():
        mask = np.zeros(images.shape, dtype=bool)
        mask[:, row : row + 20, 36:64] = True
        labels[level] = mask
    canal = np.zeros(images.shape, dtype=bool)
    canal[:, 8:120, 74:81] = True
    labels["CSF"] = canal
    middle = 1
    si = {level: float(images[middle][labels[level][middle]].mean()) for level in top}
    csf = float(images[middle][top["L3"] : top["L3"] + 20, 74:81].mean())
    ordered = sorted(si.values())
    truth = {"vbq": (ordered[1] + ordered[2]) / 2 / csf}
    without_l2 = sorted(v for k, v in si.items() if k != "L2")
    truth["vbq_l2_fractured"] = without_l2[1] / csf
    names = {"L1": "L1", "L2": "L2", "L3": "L3", "L4": "L4", "CSF": "spinal_canal"}
    return MaskPhantom(phantom, images, labels, affine, names, truth)


def t2_mask_phantom(size: int = 128) -> MaskPhantom:
    """Build the T2 axial phantom with masks of each muscle and side, the discs and the subcutaneous fat.

    `size` as for `mr_t2_axial_phantom`; the truth holds rCSA and FI (threshold: half the fat's mean SI).
    """
    phantom = mr_t2_axial_phantom(size)
    images, affine = _sorted_images(phantom)
    levels = ("L4L5", "L3L4")  # sorted from the feet: L4-5 is slice 0
    labels: dict[str, np.ndarray] = {}
    names: dict[str, str] = {}
    words = {"PM": "psoas_major", "MF": "multifidus", "ES": "erector_spinae"}
    for muscle, (r0, r1, c0, c1) in _MUSCLES.items():
        for side in ("R", "L"):
            a, b = (c0, c1) if side == "R" else (size - 1 - c1, size - 1 - c0)
            mask = np.zeros(images.shape, dtype=bool)
            mask[:, r0 : r1 + 1, a : b + 1] = True
            labels[f"{muscle}_{side}"] = mask
            names[f"{muscle}_{side}"] = f"{words[muscle]}_{'right' if side == 'R' else 'left'}"
    for k, level in enumerate(levels):
        disc = np.zeros(images.shape, dtype=bool)
        disc[k] = _ellipse(size, size, 63.5, 52.0, 17.0 + 2 * (1 - k), 12.0)
        labels[f"DISC_{level}"] = disc
        names[f"DISC_{level}"] = f"disc_{level[:2]}_{level[2:]}"
    fat = np.zeros(images.shape, dtype=bool)
    fat[:, 110:116, 24:104] = True
    labels["FAT"] = fat
    names["FAT"] = "subcutaneous_fat"
    ratios, fractions = [], []
    for k, level in enumerate(levels):
        disc_pixels = int(labels[f"DISC_{level}"][k].sum())
        threshold = 0.5 * float(images[k][fat[k]].mean())
        for side in ("L", "R"):
            total = sum(int(labels[f"{m}_{side}"][k].sum()) for m in words)
            ratios.append(total / disc_pixels)  # the pixel area cancels
            for muscle in words:
                values = images[k][labels[f"{muscle}_{side}"][k]]
                fractions.append(100.0 * float(np.mean(values > threshold)))
    truth = {"rcsa": float(np.mean(ratios)), "fi": float(np.mean(fractions))}
    return MaskPhantom(phantom, images, labels, affine, names, truth)


def all_mask_phantoms() -> tuple[MaskPhantom, ...]:
    """Build the CT, T1 sagittal and T2 axial phantoms with masks."""
    return ct_mask_phantom(), t1_mask_phantom(), t2_mask_phantom()


def write_mask_phantom(masked: MaskPhantom, folder: str | Path) -> Path:
    """Write a mask phantom into `folder`, with its masks in every format the tool reads.

    DICOM files in `series/`; the masks as a multi-label `labels.nii.gz` with the sidecar `labels.json`,
    one file per structure in `segmentations/`, a DICOM SEG `labels_seg.dcm`, a deliberately misplaced
    `misaligned.nii.gz` (4 mm along the z axis, sidecar `misaligned.json`); and `truth.json` (the
    indicators).

    Parameters
    ----------
    masked
        The mask phantom.
    folder
        Created if needed.

    Returns
    -------
    Path
        `folder`.
    """
    from ovcf_core.imaging.mask_files import read_label_map
    from ovcf_core.imaging.seg import write_seg
    from ovcf_core.imaging.series import load_series

    folder = Path(folder)
    write_phantom(masked.phantom, folder)
    table = json.dumps({str(k): v for k, v in masked.value_table().items()}, indent=2) + "\n"
    (folder / "labels.nii.gz").write_bytes(masked.nifti())
    (folder / "labels.json").write_text(table, encoding="utf-8")
    (folder / "misaligned.nii.gz").write_bytes(masked.nifti(shift_mm=(0.0, 0.0, 4.0)))
    (folder / "misaligned.json").write_text(table, encoding="utf-8")
    structures = folder / "segmentations"
    structures.mkdir(exist_ok=True)
    for name, data in masked.nifti_files().items():
        (structures / name).write_bytes(data)
    series = load_series(folder / "series").pick()
    write_seg(read_label_map(folder / "labels.nii.gz", series), series, folder / "labels_seg.dcm")
    (folder / "truth.json").write_text(
        json.dumps({"indicators": masked.truth, "truth": masked.phantom.truth}, indent=2) + "\n",
        encoding="utf-8",
    )
    return folder
