"""`ovcf batch --model MODEL.json`: each study's indicators and the model's probability, in `OUT.risk.csv`.

The risk file is computed from the batch output itself (`OUT.csv`, every complete study in it, from this
run and earlier ones), so it is the same whichever backend measured the studies and however often the
batch was interrupted. Per study:

* the indicators its rows allow, through the one definition of each formula (`ovcf_core.indicators`):
  `hu` (average HU of L1-L4 on CT), `vbq` (median T1 SI of L1-L4 over CSF SI), `rcsa` (muscle over disc
  CSA) and `fi` (the muscles' `fi_percent`); no level is taken as fractured (the images do not say);
* the model's probability and 95% CI exactly as `ovcf predict` gives them (`model.prediction.predict`,
  with the same prior correction to `--prevalence`);
* `note`: why there is no probability (the study failed, an indicator the model needs was not measured,
  a value outside its plausible range), or, with a probability, the model's warnings and that this is a
  research tool.

Written whole (temporary file, then os.replace), one row per study sorted by study id.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ovcf_core import RESEARCH_NOTE, SYNTHETIC_NOTE
from ovcf_core.batch import COLUMNS, LINE_END, Status, _escape, _unescape
from ovcf_core.errors import InputError, OvcfError
from ovcf_core.output import write_bytes

if TYPE_CHECKING:
    from ovcf_core.model.risk_model import RiskModel

RISK_COLUMNS: tuple[str, ...] = (
    "study",
    "hu",
    "vbq",
    "rcsa",
    "fi",
    "probability",
    "ci_low",
    "ci_high",
    "note",
)
INDICATOR_COLUMNS: tuple[str, ...] = ("hu", "vbq", "rcsa", "fi")
COVARIATE_NAMES = {"age": "age", "sex": "sex", "bmi": "BMI"}


@dataclass(frozen=True)
class StudyRisk:
    """One study's indicators, the model's probability with its 95% CI, and why there is none."""

    study: str
    indicators: dict[str, float]
    probability: float | None = None
    ci: tuple[float, float] | None = None
    note: str = ""

    def cells(self) -> list[object]:
        """Return the study's row of the risk CSV (`RISK_COLUMNS`, text cells escaped as in the output)."""
        low, high = self.ci if self.ci is not None else (None, None)
        return [
            _escape(self.study),
            *(self.indicators.get(c) for c in INDICATOR_COLUMNS),
            self.probability,
            low,
            high,
            _escape(self.note),
        ]


def risk_path(out_csv: str | Path) -> Path:
    """Return the risk file's path: `OUT.risk.csv` beside `OUT.csv`.

    Parameters
    ----------
    out_csv
        The batch output; its suffix is replaced (an output without one gets `.risk.csv` added).

    Returns
    -------
    Path
        The risk file's path.
    """
    out_csv = Path(out_csv)
    return out_csv.with_name(f"{out_csv.stem if out_csv.suffix else out_csv.name}.risk.csv")


def read_studies(out_csv: str | Path) -> dict[str, list[dict[str, str]]]:
    """Read the complete studies of a batch output: those with all their `study_rows` rows present.

    A study cut off mid-way (a run stopped while writing it) is left out rather than judged on part of
    its rows.

    Parameters
    ----------
    out_csv
        The batch output (`ovcf batch -o OUT.csv`).

    Returns
    -------
    dict of str to list of dict
        Each study's rows (text cells as written), by study id.

    Raises
    ------
    InputError
        The file's columns are not those of this version's batch output.
    OSError
        The file cannot be opened.
    """
    with Path(out_csv).open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if tuple(reader.fieldnames or ()) != COLUMNS:
            raise InputError(
                "is not the output of this version of ovcf batch (other columns)", file=str(out_csv)
            )
        groups: dict[str, list[dict[str, str]]] = {}
        for row in reader:
            groups.setdefault(_unescape(row["study"]), []).append(row)
    return {
        study: rows
        for study, rows in groups.items()
        if all(r["study_rows"].isdigit() and int(r["study_rows"]) == len(rows) for r in rows)
    }


def _float(text: str | None) -> float | None:
    try:
        value = float(text) if text not in (None, "") else None
    except ValueError:
        return None
    return value if value is not None and math.isfinite(value) else None


def study_indicators(rows: Sequence[Mapping[str, str]]) -> dict[str, float]:
    """Compute the indicators one study's `ok` rows allow (see the module docstring).

    Parameters
    ----------
    rows
        The study's rows as read from the batch output (`read_studies`).

    Returns
    -------
    dict of str to float
        Average HU (CT), or VBQ, rCSA and FI (MR) as far as the rows allow; no key for the others.
    """
    from ovcf_core import indicators as formulas
    from ovcf_core.imaging.image_indicators import classify

    vertebrae: dict[str, float | None] = {}
    csf: dict[str, float | None] = {}
    discs: dict[str, float | None] = {}
    csa: dict[tuple[str, str, str], float | None] = {}
    fi: dict[tuple[str, str, str], float | None] = {}
    unit = rows[0].get("unit", "")
    for row in rows:
        kind, level, muscle, side = classify(_unescape(row.get("label") or ""))
        if level is None:
            continue
        if kind == "vertebra":
            vertebrae[level] = _float(row.get("mean"))
        elif kind == "csf":
            csf[level] = _float(row.get("mean"))
        elif kind == "disc":
            discs[level] = _float(row.get("area_mm2"))
        elif kind == "muscle" and muscle and side:
            csa[(muscle, side, level)] = _float(row.get("area_mm2"))
            fi[(muscle, side, level)] = _float(row.get("fi_percent"))
    values = {}
    if unit == "HU" and vertebrae:
        values["hu"] = formulas.average_hu(vertebrae).value
    if unit == "SI":
        if vertebrae and csf:
            values["vbq"] = formulas.vbq_score(vertebrae, csf).value
        if csa and discs:
            values["rcsa"] = formulas.average_rcsa(csa, discs).value
        if any(v is not None for v in fi.values()):
            values["fi"] = formulas.average_fi(fi).value
    return {k: float(v) for k, v in values.items() if v is not None and math.isfinite(v)}


def study_risk(
    study: str, rows: Sequence[Mapping[str, str]], model: RiskModel, prevalence: float | None
) -> StudyRisk:
    """Predict one study's risk: its indicators and the model's probability, or why there is none.

    Parameters
    ----------
    study
        The study id.
    rows
        Its rows in the batch output.
    model
        The fitted model.
    prevalence
        Prevalence to prior-correct to, or None.

    Returns
    -------
    StudyRisk
        With a probability and CI; or without, and a note naming the failure, the model variables the
        images did not give, or the refusal of the prediction.
    """
    from ovcf_core.model.prediction import predict

    failed = [r for r in rows if r.get("status") != Status.OK.value]
    if failed:
        return StudyRisk(study, {}, note=f"study failed: {_unescape(failed[0].get('message') or '')}")
    values = study_indicators(rows)
    missing = [v for v in model.variables if v not in values]
    if missing:
        names = [COVARIATE_NAMES.get(v, v) for v in missing]
        images = [n for v, n in zip(missing, names, strict=True) if v not in COVARIATE_NAMES]
        covariates = [n for v, n in zip(missing, names, strict=True) if v in COVARIATE_NAMES]
        parts = []
        if images:
            parts.append(f"the model needs {', '.join(images)}, not measured in this study")
        if covariates:
            parts.append(f"the model needs {', '.join(covariates)}, which the images do not give")
        return StudyRisk(study, values, note="; ".join(parts))
    try:
        prediction = predict(model, values, prevalence=prevalence)
    except OvcfError as exc:
        return StudyRisk(study, values, note=str(exc).splitlines()[0])
    notes = [*prediction.warnings, RESEARCH_NOTE]
    if prediction.model.get("synthetic"):
        notes.append(SYNTHETIC_NOTE)
    return StudyRisk(study, values, prediction.probability, prediction.ci, " ".join(notes))


def risk_rows(out_csv: str | Path, model: RiskModel, prevalence: float | None = None) -> list[StudyRisk]:
    """Predict the risk of every complete study of the batch output, sorted by study id.

    Parameters
    ----------
    out_csv, model, prevalence
        As `write_risk`.

    Returns
    -------
    list of StudyRisk
        One per complete study (`study_risk`).

    Raises
    ------
    InputError
        `out_csv` is not a batch output of this version.
    """
    return [study_risk(s, rows, model, prevalence) for s, rows in sorted(read_studies(out_csv).items())]


def write_risk(
    out_csv: str | Path, model: RiskModel, prevalence: float | None = None
) -> tuple[Path, list[StudyRisk]]:
    """Write `OUT.risk.csv` beside the batch output; returns its path and its rows.

    Parameters
    ----------
    out_csv : str or Path
        The batch output (`ovcf batch -o OUT.csv`).
    model : RiskModel
        A fitted model (`ovcf_core.model.load_model`).
    prevalence : float, optional
        Prevalence to prior-correct to, as `ovcf predict --prevalence`.

    Returns
    -------
    (Path, list of StudyRisk)
        The file written and its rows.

    Raises
    ------
    InputError
        When `out_csv` is not a batch output of this version.
    OutputError
        When the risk file cannot be written.
    """
    rows = risk_rows(out_csv, model, prevalence)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=LINE_END)
    writer.writerow(RISK_COLUMNS)
    for row in rows:
        writer.writerow(row.cells())
    path = risk_path(out_csv)
    write_bytes(path, buffer.getvalue().encode("utf-8"))
    return path, rows
