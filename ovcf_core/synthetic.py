"""Seeded generator of synthetic cohorts like the paper's (no real patient is in any of it).

Construction (a latent-factor model; all numbers are parameters of `CohortSpec`):

* 78 OVCF cases (28 M, 50 F, age 50-92) and, for each, one control of the same sex and an age within
  ±2 years (`pair_id`), as the paper's 1:1 age- and sex-matched design.
* Three within-group standard-normal factors per patient: **bone density** B, **marrow fat** F (correlated
  with B at `rho_bone_fat`) and **muscle** M (correlated with B at `rho_bone_muscle`). Cases are shifted
  to lower B and higher F; M follows B only, so rCSA's link to OVCF runs through bone density.
* HU and T-score are read from B (HU also falls ~2.5 HU per year of age, Jang 2019), VBQ and FI from F (FI
  higher in women: 14.0 vs 10.3 % in healthy adults, PMC10347357), rCSA from M (higher in men); each with
  its own measurement noise, which sets the inter-marker correlations (HU~T, VBQ~FI about 0.93).
* Controls' VBQ ~3.0 and cases' ~3.5 (Ehresman 2021: 3.01 vs 3.50); controls' HU ~135, cases' ~75.

Because OVCF depends only on B and F, a **joint** logistic model (all five markers + age, sex, BMI) finds HU
and VBQ (their most precise readings) significant and T-score, FI and rCSA not. We read the paper's
"after adjusting for age, sex and BMI, only HU and VBQ were significant" as such a joint model: each
marker alone (its Spearman rho, and `outcome ~ marker + age + sex + BMI`) is significantly associated with
OVCF in the paper and here, so only a joint model can leave three of them non-significant.

Targets (DESIGN §5). The paper's Spearman rho of 0.84 for VBQ cannot hold with its AUC of 0.895 in 1:1
groups (rho = 0.866 (2 AUC - 1) for a 0/1 outcome with equal groups, so rho 0.84 means AUC 0.985). We aim
at the AUC: VBQ AUC near 0.89, the other markers in the paper's order (VBQ, HU, FI, T-score, rCSA), HU~T and
VBQ~FI Spearman rho near 0.93 and 0.92 as the two strongest marker pairs, rCSA positively correlated with
HU and T-score, ICC > 0.8 between raters. With HU~T-score and VBQ~FI that tight, T-score and FI cannot
have AUCs far below HU and VBQ without a strong negative partial effect (which the paper does not report),
so they sit just below their partners (T-score ~0.85, FI ~0.86 rather than the ~0.69 and ~0.77 that the
paper's rho would suggest after scaling). The default `SEED` is the seed among 0-39 whose sample (computed
from its raw table) meets every ordering and significance target and lies closest to the three numeric
targets (VBQ AUC 0.895, rho 0.926 and 0.919); `python -m ovcf_core.synthetic --summary` prints what it
achieves, and the README lists it beside the paper's values.

The raw two-rater table is built from the cohort's true indicator values: per-vertebra values spread
around the patient's value (centred so the unfractured ones average back to it), fractured vertebrae
reading falsely high (compressed bone), CSF at L2/L4 when L3 is "blocked", per-level muscle areas and fat
split by muscle, occasional missing levels and single-rater patients; then each rater adds independent
noise. The sample cohort (`sample().cohort`) is computed from that raw table by `raw.cohort_from_raw`, so
`ovcf indicators sample_data/raw_two_raters.csv` reproduces `sample_data/cohort.csv` exactly.

Regenerate the sample data with `python -m ovcf_core.synthetic` (``--summary`` prints the statistics).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ovcf_core import indicators as ind
from ovcf_core import raw as rawmod

SEED = 28  # chosen among seeds 0-39 as the one closest to the targets (see the module docstring)


@dataclass(frozen=True)
class CohortSpec:
    """Parameters of the synthetic cohort (defaults give the shipped sample)."""

    n_male_cases: int = 28
    n_female_cases: int = 50
    seed: int = SEED
    age_mean: float = 69.0
    age_sd: float = 9.0
    match_years: int = 2
    # case shifts in within-group SD units
    bone_shift: float = 1.95
    fat_shift: float = 1.80
    rho_bone_fat: float = -0.30
    rho_bone_muscle: float = 0.35
    # marker scales: value = base + scale * (factor + noise * e)
    hu_base: float = 138.0
    hu_scale: float = 36.0
    hu_per_year: float = -2.5
    hu_noise: float = 0.10
    t_base: float = -1.2
    t_scale: float = 0.95
    t_noise: float = 0.60
    vbq_base: float = 3.0
    vbq_scale: float = 0.27
    vbq_female: float = 0.06
    vbq_noise: float = 0.05
    fi_base_male: float = 10.3
    fi_base_female: float = 14.0
    fi_scale: float = 4.2
    fi_noise: float = 0.48
    rcsa_base: float = 2.15
    rcsa_male: float = 0.25
    rcsa_scale: float = 0.30
    rcsa_noise: float = 0.20
    bmi_mean: float = 23.6
    bmi_sd: float = 3.2


def _factors(n: int, spec: CohortSpec, rng: np.random.Generator) -> np.ndarray:
    """Draw (n, 3) within-group standard-normal bone, fat and muscle factors with the spec's correlations."""
    corr = np.array(
        [
            [1.0, spec.rho_bone_fat, spec.rho_bone_muscle],
            [spec.rho_bone_fat, 1.0, spec.rho_bone_fat * spec.rho_bone_muscle],
            [spec.rho_bone_muscle, spec.rho_bone_fat * spec.rho_bone_muscle, 1.0],
        ]
    )
    return rng.standard_normal((n, 3)) @ np.linalg.cholesky(corr).T


def _markers(
    ovcf: np.ndarray, age: np.ndarray, female: np.ndarray, spec: CohortSpec, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """Draw the five true indicator values of patients from their outcome, age and sex."""
    n = len(ovcf)
    bone, fat, muscle = _factors(n, spec, rng).T
    bone = bone - spec.bone_shift * ovcf
    fat = fat + spec.fat_shift * ovcf
    muscle = muscle - spec.rho_bone_muscle * spec.bone_shift * ovcf  # follows bone, no direct case effect
    noise = rng.standard_normal((n, 5))
    bone = bone + spec.hu_per_year / spec.hu_scale * (age - spec.age_mean)  # bone is lost with age
    hu = spec.hu_base + spec.hu_scale * (bone + spec.hu_noise * noise[:, 0])
    t_score = spec.t_base + spec.t_scale * (bone + spec.t_noise * noise[:, 1])
    vbq = spec.vbq_base + spec.vbq_female * female + spec.vbq_scale * (fat + spec.vbq_noise * noise[:, 2])
    fi_base = np.where(female, spec.fi_base_female, spec.fi_base_male)
    fi = fi_base + spec.fi_scale * (fat + spec.fi_noise * noise[:, 3])
    rcsa = (
        spec.rcsa_base
        + spec.rcsa_male * (1 - female)
        + spec.rcsa_scale * (muscle + spec.rcsa_noise * noise[:, 4])
    )
    return {
        "t_score": np.clip(t_score, -5.5, 3.5),
        "hu": np.clip(hu, 15.0, 320.0),
        "vbq": np.clip(vbq, 1.6, 5.5),
        "rcsa": np.clip(rcsa, 0.8, 4.0),
        "fi": np.clip(fi, 3.0, 60.0),
    }


def true_cohort(spec: CohortSpec = CohortSpec()) -> pd.DataFrame:
    """Generate the matched cohort's true indicator values (before the raw measurements and rater noise).

    Parameters
    ----------
    spec
        The cohort's parameters (defaults give the shipped sample).

    Returns
    -------
    pandas.DataFrame
        One row per patient, each case followed by its age- and sex-matched control (same pair_id).
    """
    rng = np.random.default_rng(spec.seed)
    n_cases = spec.n_male_cases + spec.n_female_cases
    sex = np.array(["M"] * spec.n_male_cases + ["F"] * spec.n_female_cases)
    rng.shuffle(sex)
    case_age = np.clip(np.round(rng.normal(spec.age_mean, spec.age_sd, n_cases)), 50, 92)
    control_age = np.clip(case_age + rng.integers(-spec.match_years, spec.match_years + 1, n_cases), 50, 94)
    ovcf = np.r_[np.ones(n_cases), np.zeros(n_cases)]
    age = np.r_[case_age, control_age]
    sexes = np.r_[sex, sex]
    female = (sexes == "F").astype(float)
    markers = _markers(ovcf, age, female, spec, rng)
    bmi = np.clip(rng.normal(spec.bmi_mean, spec.bmi_sd, 2 * n_cases), 16.0, 36.0)
    pair = [f"P{i + 1:03d}" for i in range(n_cases)] * 2
    table = pd.DataFrame(
        {
            "patient_id": [f"S{i + 1:04d}" for i in range(2 * n_cases)],
            "ovcf": ovcf.astype(int),
            "age": age.astype(int),
            "sex": sexes,
            "bmi": np.round(bmi, 1),
            "pair_id": pair,
            **markers,
        }
    )
    # interleave case and control of each pair, as a matched export lists them
    order = np.ravel(np.column_stack([np.arange(n_cases), np.arange(n_cases) + n_cases]))
    table = table.iloc[order].reset_index(drop=True)
    table["patient_id"] = [f"S{i + 1:04d}" for i in range(len(table))]
    return table


# ---------------------------------------------------------------- raw two-rater measurements

FRACTURE_LEVEL_WEIGHTS = {"L1": 0.45, "L2": 0.25, "L3": 0.17, "L4": 0.13}
DISC_AREA = {"L1L2": 1450.0, "L2L3": 1550.0, "L3L4": 1650.0, "L4L5": 1700.0}
# share of one side's total muscle CSA per muscle at each disc level (psoas grows caudally)
MUSCLE_SHARE = {
    "L1L2": {"pm": 0.18, "mf": 0.22, "es": 0.60},
    "L2L3": {"pm": 0.30, "mf": 0.22, "es": 0.48},
    "L3L4": {"pm": 0.40, "mf": 0.24, "es": 0.36},
    "L4L5": {"pm": 0.44, "mf": 0.30, "es": 0.26},
}
MUSCLE_FAT_OFFSET = {"pm": -5.0, "mf": 3.5, "es": 1.5}  # % points: multifidus fattiest, psoas leanest


@dataclass(frozen=True)
class RawSpec:
    """Parameters of the raw two-rater measurements (per-level spread, rater noise, missingness)."""

    seed: int = SEED + 1
    p_two_fractures: float = 0.18
    p_three_fractures: float = 0.03
    p_csf_blocked: float = 0.08
    p_level_missing: float = 0.06
    p_muscle_missing: float = 0.02
    p_t_missing: float = 0.03
    p_single_rater: float = 0.03
    level_sd_hu: float = 9.0
    level_sd_t: float = 0.25
    level_sd_si: float = 0.04
    level_sd_ratio: float = 0.06
    level_sd_fi: float = 1.5
    rater_sd_hu: float = 7.0
    rater_sd_t: float = 0.08
    rater_sd_si: float = 0.025
    rater_sd_csa: float = 0.03
    rater_sd_fi: float = 1.2


def _centred(rng: np.random.Generator, sd: float, n: int, keep: list[bool], how: str = "mean") -> np.ndarray:
    """Draw n deviations whose mean (or median) over the `keep` positions is exactly 0."""
    dev = rng.normal(0.0, sd, n)
    kept = dev[np.array(keep)]
    if len(kept):
        dev = dev - (np.median(kept) if how == "median" else kept.mean())
    return dev


# C901: one patient's simulated measurements level by level, side by side and muscle by muscle
def raw_measurements(cohort: pd.DataFrame, spec: RawSpec = RawSpec()) -> pd.DataFrame:  # noqa: C901
    """Generate two raters' raw wide measurements that give `cohort`'s indicators once averaged.

    Parameters
    ----------
    cohort
        The true cohort (`true_cohort`).
    spec
        Per-level spread, rater noise and missingness.

    Returns
    -------
    pandas.DataFrame
        The raw wide table, one row per patient and rater.
    """
    rng = np.random.default_rng(spec.seed)
    rows = []
    levels = list(ind.LEVELS)
    weights = np.array([FRACTURE_LEVEL_WEIGHTS[lv] for lv in levels])
    patient: Any  # an itertuples row: its attributes are the cohort's (numeric) columns
    for patient in cohort.itertuples(index=False):
        fractured: list[str] = []
        if patient.ovcf == 1:
            k = 1 + (rng.random() < spec.p_two_fractures) + (rng.random() < spec.p_three_fractures)
            fractured = sorted(rng.choice(levels, size=k, replace=False, p=weights).tolist())
        keep = [lv not in fractured for lv in levels]
        true: dict[str, float] = {}
        hu_dev = _centred(rng, spec.level_sd_hu, 4, keep)
        t_dev = _centred(rng, spec.level_sd_t, 4, keep)
        si_dev = _centred(rng, spec.level_sd_si, 4, keep, how="median")
        csf = rng.uniform(110.0, 190.0)
        for i, lv in enumerate(levels):
            broken = lv in fractured
            true[f"hu_{lv}"] = patient.hu * (1.45 if broken else 1.0) + hu_dev[i]
            true[f"t_{lv}"] = patient.t_score + (1.1 if broken else 0.0) + t_dev[i]
            true[f"si_{lv}"] = patient.vbq * csf * (1.0 + si_dev[i]) * (0.8 if broken else 1.0)
        csf_level = "L3"
        if rng.random() < spec.p_csf_blocked:
            csf_level = "L2" if rng.random() < 0.7 else "L4"
        true[f"si_csf_{csf_level}"] = csf
        for lv in levels:
            if rng.random() < spec.p_t_missing:
                true.pop(f"t_{lv}")
        ratio_dev = _centred(rng, spec.level_sd_ratio, 8, [True] * 8)
        fi_dev = _centred(rng, spec.level_sd_fi, 24, [True] * 24)
        missing_levels = {d for d in ind.DISC_LEVELS if rng.random() < spec.p_level_missing}
        if len(missing_levels) == len(ind.DISC_LEVELS):
            missing_levels = set()
        for j, d in enumerate(ind.DISC_LEVELS):
            disc = DISC_AREA[d] * rng.uniform(0.85, 1.15)
            if d not in missing_levels:
                true[f"disc_{d}"] = disc
            for k, s in enumerate(ind.SIDES):
                total = patient.rcsa * (1.0 + ratio_dev[2 * j + k]) * disc
                for m_i, m in enumerate(ind.MUSCLES):
                    if d in missing_levels:
                        continue
                    fi = patient.fi + MUSCLE_FAT_OFFSET[m] + fi_dev[(2 * j + k) * 3 + m_i]
                    if rng.random() < spec.p_muscle_missing:
                        continue
                    true[f"csa_{m}_{s}_{d}"] = total * MUSCLE_SHARE[d][m]
                    true[f"fi_{m}_{s}_{d}"] = max(fi, 0.5)
        raters = ["A"] if rng.random() < spec.p_single_rater else ["A", "B"]
        for rater in raters:
            row: dict[str, object] = {
                "patient_id": patient.patient_id,
                "rater": rater,
                "ovcf": patient.ovcf,
                "age": patient.age,
                "sex": patient.sex,
                "bmi": patient.bmi,
                "pair_id": patient.pair_id,
                "fractured": ";".join(fractured),
            }
            for column, value in true.items():
                row[column] = _rated(column, value, spec, rng)
            rows.append(row)
    table = pd.DataFrame(rows)
    columns = [c for c in (*rawmod.PATIENT_COLUMNS, *rawmod.MEASUREMENT_COLUMNS) if c in table.columns]
    return table[columns]


def _rated(column: str, value: float, spec: RawSpec, rng: np.random.Generator) -> float:
    """Draw one rater's reading of a true value, rounded as a PACS or ImageJ shows it."""
    quantity = column.split("_")[0] if not column.startswith("si_csf") else "si_csf"
    if quantity == "hu":
        return round(value + rng.normal(0.0, spec.rater_sd_hu), 1)
    if quantity == "t":
        return round(value + rng.normal(0.0, spec.rater_sd_t), 1)
    if quantity in ("si", "si_csf"):
        return round(value * (1.0 + rng.normal(0.0, spec.rater_sd_si)), 1)
    if quantity in ("csa", "disc"):
        return round(value * (1.0 + rng.normal(0.0, spec.rater_sd_csa)), 1)
    return round(float(np.clip(value + rng.normal(0.0, spec.rater_sd_fi), 0.1, 99.0)), 2)


# ---------------------------------------------------------------- matching pool


def matching_pool(
    spec: CohortSpec = CohortSpec(),
    n_controls: int = 400,
    seed: int = SEED + 2,
    cases: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Generate a matching pool: the cases plus fracture-free patients of varied age and sex.

    Parameters
    ----------
    spec
        The cohort's parameters (the controls' markers follow them).
    n_controls
        How many candidate controls to draw.
    seed
        Seed of the controls.
    cases
        The cases to match (default: the true cohort's).

    Returns
    -------
    pandas.DataFrame
        The cases, then the candidate controls (patient ids Q0001, ...).
    """
    if cases is None:
        cohort = true_cohort(spec)
        cases = cohort[cohort["ovcf"] == 1]
    cases = cases.drop(columns=["pair_id"], errors="ignore")
    rng = np.random.default_rng(seed)
    female = (rng.random(n_controls) < 0.58).astype(float)
    age = np.clip(np.round(rng.normal(66.0, 10.0, n_controls)), 50, 92)
    markers = _markers(np.zeros(n_controls), age, female, spec, rng)
    bmi = np.clip(rng.normal(spec.bmi_mean, spec.bmi_sd, n_controls), 16.0, 36.0)
    controls = pd.DataFrame(
        {
            "patient_id": [f"Q{i + 1:04d}" for i in range(n_controls)],
            "ovcf": 0,
            "age": age.astype(int),
            "sex": np.where(female == 1, "F", "M"),
            "bmi": np.round(bmi, 1),
            **markers,
        }
    )
    pool = pd.concat([cases, controls], ignore_index=True)
    for column, decimals in rawmod.DECIMALS.items():
        pool[column] = pool[column].round(decimals)
    return pool


# ---------------------------------------------------------------- the shipped sample


@dataclass(frozen=True)
class Sample:
    """The shipped sample: the raw two-rater table, the cohort computed from it, and the matching pool."""

    raw: pd.DataFrame
    cohort: pd.DataFrame
    pool: pd.DataFrame


def sample(spec: CohortSpec = CohortSpec(), raw_spec: RawSpec | None = None) -> Sample:
    """Generate the sample: true cohort -> raw two-rater measurements -> cohort via `cohort_from_raw`.

    Parameters
    ----------
    spec
        The cohort's parameters.
    raw_spec
        The raw measurements' parameters (default: seeded from `spec.seed`).

    Returns
    -------
    Sample
        The raw table, the cohort computed from it and the matching pool.

    Raises
    ------
    RuntimeError
        When the generated raw table has errors (a bug in the generator, never the user's input).
    """
    truth = true_cohort(spec)
    raw = raw_measurements(truth, raw_spec or replace(RawSpec(), seed=spec.seed + 1))
    cohort, problems = rawmod.cohort_from_raw(raw, "raw_two_raters.csv")
    blocking = [p for p in problems if p.severity == "error"]
    if blocking:
        raise RuntimeError(f"the generated raw table has errors: {blocking[:3]}")
    cases = cohort[cohort["ovcf"] == 1]
    return Sample(raw=raw, cohort=cohort, pool=matching_pool(spec, seed=spec.seed + 2, cases=cases))


def write_sample(folder: Path, spec: CohortSpec = CohortSpec()) -> Sample:
    """Write cohort.csv, raw_two_raters.csv, matching_pool.csv and the empty templates into `folder`.

    Parameters
    ----------
    folder
        The folder (created if missing).
    spec
        The cohort's parameters.

    Returns
    -------
    Sample
        What was written.
    """
    from ovcf_core.io import write_table

    data = sample(spec)
    folder.mkdir(parents=True, exist_ok=True)
    write_table(data.cohort, folder / "cohort.csv")
    write_table(data.raw, folder / "raw_two_raters.csv")
    write_table(data.pool, folder / "matching_pool.csv")
    templates = folder / "templates"
    templates.mkdir(exist_ok=True)
    write_table(rawmod.wide_template(), templates / "raw_wide_template.csv")
    write_table(rawmod.long_template(), templates / "raw_long_template.csv")
    write_table(rawmod.cohort_template(), templates / "cohort_template.csv")
    return data


def main(argv: list[str] | None = None) -> int:
    """Run `python -m ovcf_core.synthetic [--out DIR] [--summary]`: regenerate the sample tables.

    Parameters
    ----------
    argv
        The arguments (None: ``sys.argv``).

    Returns
    -------
    int
        0.
    """
    parser = argparse.ArgumentParser(
        prog="python -m ovcf_core.synthetic", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--out", type=Path, default=None, help="folder to write (default: sample_data/)")
    parser.add_argument("--summary", action="store_true", help="print the achieved statistics, do not write")
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    spec = replace(CohortSpec(), seed=args.seed)
    if args.summary:
        from ovcf_core.synthetic_summary import summary_markdown

        print(summary_markdown(sample(spec)))
        return 0
    from ovcf_core import paths

    out = args.out or paths.SAMPLE_DATA
    data = write_sample(out, spec)
    print(f"wrote {len(data.cohort)} patients, {len(data.raw)} raw rows, {len(data.pool)} pool rows to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
