"""De-identification on load: patient identifiers never leave the DICOM reader.

Two layers. (1) Every dataset read is stripped of the identifying attributes below (DICOM PS3.15 Annex E
basic profile: names, IDs, dates of birth, addresses, physicians, institution, accession numbers) and of
all private tags before anything else sees it. (2) What the rest of the tool keeps of a header is an
explicit allow-list of technical attributes (`technical_header`), so a tag forgotten in (1) still cannot
reach a page, a log line, JSON or a download.
"""

from __future__ import annotations

from typing import Any

IDENTIFYING_KEYWORDS: tuple[str, ...] = (
    "PatientName",
    "PatientID",
    "PatientBirthDate",
    "PatientBirthTime",
    "PatientBirthName",
    "PatientMotherBirthName",
    "OtherPatientIDs",
    "OtherPatientIDsSequence",
    "OtherPatientNames",
    "PatientAddress",
    "PatientTelephoneNumbers",
    "PatientTelecomInformation",
    "IssuerOfPatientID",
    "MedicalRecordLocator",
    "PatientInsurancePlanCodeSequence",
    "MilitaryRank",
    "BranchOfService",
    "CountryOfResidence",
    "RegionOfResidence",
    "EthnicGroup",
    "Occupation",
    "AdditionalPatientHistory",
    "PatientComments",
    "ReferringPhysicianName",
    "ReferringPhysicianAddress",
    "ReferringPhysicianTelephoneNumbers",
    "PerformingPhysicianName",
    "NameOfPhysiciansReadingStudy",
    "OperatorsName",
    "PhysiciansOfRecord",
    "RequestingPhysician",
    "InstitutionName",
    "InstitutionAddress",
    "InstitutionalDepartmentName",
    "StationName",
    "AccessionNumber",
    "StudyID",
    "RequestAttributesSequence",
    "DeviceSerialNumber",
    "StudyDate",
    "SeriesDate",
    "AcquisitionDate",
    "ContentDate",
    "StudyTime",
    "SeriesTime",
    "AcquisitionTime",
    "ContentTime",
    "AcquisitionDateTime",
)

# The only header attributes the tool keeps (all technical; none identifies a person).
TECHNICAL_KEYWORDS: tuple[str, ...] = (
    "Modality",
    "SeriesDescription",
    "BodyPartExamined",
    "Manufacturer",
    "ManufacturerModelName",
    "MagneticFieldStrength",
    "KVP",
    "SliceThickness",
    "RepetitionTime",
    "EchoTime",
    "ScanningSequence",
    "ConvolutionKernel",
)


def deidentify(dataset: Any) -> Any:
    """Remove identifying attributes and private tags from a pydicom Dataset, in place.

    Used on every dataset whose pixels are decoded. The header-only pass does not call it (it would cost
    more than reading the header): it keeps only `technical_header` and typed geometry, then drops the
    dataset.

    Parameters
    ----------
    dataset
        A pydicom Dataset.

    Returns
    -------
    pydicom.Dataset
        The same dataset, without IDENTIFYING_KEYWORDS and private tags.
    """
    for keyword in IDENTIFYING_KEYWORDS:
        if keyword in dataset:
            delattr(dataset, keyword)
    dataset.remove_private_tags()
    return dataset


def technical_header(dataset: Any) -> dict[str, str]:
    """Return the allow-listed technical attributes of a dataset as plain text (safe to show and export).

    Parameters
    ----------
    dataset
        A pydicom Dataset (or anything with ``get``).

    Returns
    -------
    dict of str to str
        TECHNICAL_KEYWORDS present in the dataset, each value cut to 64 characters.
    """
    out: dict[str, str] = {}
    for keyword in TECHNICAL_KEYWORDS:
        value = dataset.get(keyword)
        if value is None or value == "":
            continue
        out[keyword] = str(value)[:64]
    return out
