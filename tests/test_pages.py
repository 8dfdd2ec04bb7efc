"""Every dashboard page under AppTest: with the sample data, after a valid upload, after a broken upload."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from dashboard import state
from ovcf_core import formatting
from ovcf_core.schema import validate_cohort

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "dashboard" / "app.py"
TIMEOUT = 120


def cohort_csv(n_pairs: int = 40, seed: int = 7, *, hu_name: str = "hu") -> bytes:
    """A valid matched cohort as CSV bytes (the HU column named `hu_name`, to exercise column mapping)."""
    rng = np.random.default_rng(seed)
    rows = []
    for pair in range(n_pairs):
        sex = "F" if pair % 3 else "M"
        age = int(rng.integers(55, 85))
        for ovcf in (1, 0):
            bone = rng.normal(-0.7 * ovcf, 1)
            rows.append(
                {
                    "patient_id": f"U{len(rows):04d}",
                    "ovcf": ovcf,
                    "age": age,
                    "sex": sex,
                    "bmi": round(rng.normal(23, 2.5), 1),
                    "pair_id": f"Q{pair:03d}",
                    "t_score": round(-1.5 + 0.8 * bone, 2),
                    hu_name: round(120 + 30 * bone, 1),
                    "vbq": round(3.0 + 0.45 * ovcf + rng.normal(0, 0.3), 2),
                    "rcsa": round(1.5 + rng.normal(0, 0.2), 2),
                    "fi": round(13 + 4 * ovcf + rng.normal(0, 3), 1),
                }
            )
    return pd.DataFrame(rows).to_csv(index=False).encode()


def ratings_csv(data: bytes) -> bytes:
    """Two raters' indicator values for the patients of a cohort CSV (rater B = A + small noise)."""
    table = pd.read_csv(pd.io.common.BytesIO(data))
    rng = np.random.default_rng(11)
    first = table[["patient_id", "hu", "vbq", "fi"]].assign(rater="A")
    second = first.assign(rater="B", hu=first["hu"] + rng.normal(0, 4, len(first)))
    second["vbq"] = second["vbq"] + rng.normal(0, 0.05, len(first))
    second["fi"] = second["fi"] + rng.normal(0, 1.0, len(first))
    return pd.concat([first, second]).round(2).to_csv(index=False).encode()


def pool_csv(data: bytes, n_controls: int = 200) -> bytes:
    """The cases of a cohort CSV plus a pool of possible controls of varied age and sex."""
    table = pd.read_csv(pd.io.common.BytesIO(data))
    rng = np.random.default_rng(13)
    controls = pd.DataFrame(
        {
            "patient_id": [f"K{i:04d}" for i in range(n_controls)],
            "ovcf": 0,
            "age": rng.integers(50, 90, n_controls),
            "sex": rng.choice(["F", "M"], n_controls),
            "bmi": rng.normal(23, 3, n_controls).round(1),
        }
    )
    cases = table.loc[table["ovcf"] == 1, ["patient_id", "ovcf", "age", "sex", "bmi"]]
    return pd.concat([cases, controls]).to_csv(index=False).encode()


@pytest.fixture(autouse=True)
def sample_files(tmp_path_factory, monkeypatch):
    """The shipped synthetic sample files; generated stand-ins only where sample_data/ lacks one."""
    import streamlit as st

    from ovcf_core import paths

    folder = tmp_path_factory.mktemp("sample")
    cohort = cohort_csv(78, seed=1)
    makers = {
        "SAMPLE_COHORT": lambda: cohort,
        "SAMPLE_RAW": lambda: ratings_csv(cohort),
        "SAMPLE_POOL": lambda: pool_csv(cohort),
    }
    for name, make in makers.items():
        if not getattr(paths, name).exists():
            path = folder / getattr(paths, name).name
            path.write_bytes(make())
            monkeypatch.setattr(paths, name, path)
    st.cache_data.clear()
    st.cache_resource.clear()


def open_page(page: str) -> AppTest:
    """A fresh session of the app showing `page` (relative to dashboard/)."""
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT).run()
    return at.switch_page(page).run()


def upload(at: AppTest, name: str, data: bytes, index: int = 0) -> AppTest:
    at.file_uploader[index].set_value((name, data, "text/csv"))
    return at.run()


def texts(at: AppTest) -> str:
    """All markdown, captions, messages and metric labels of the page, joined."""
    parts = [
        e.value
        for kind in ("markdown", "caption", "error", "warning", "success", "info")
        for e in getattr(at, kind)
    ]
    return "\n".join(map(str, parts))


# ---------------------------------------------------------------- Data


def test_data_page_upload_with_different_column_names_is_mapped_validated_and_used():
    at = open_page("pages/data.py")
    assert not at.exception
    at = upload(at, "my cohort.csv", cohort_csv(hu_name="HU_mean"))
    assert not at.exception, at.exception
    table = at.session_state[state.COHORT]
    expected, _ = validate_cohort(pd.read_csv(pd.io.common.BytesIO(cohort_csv())).astype(str))
    assert len(table) == 80 and table["hu"].tolist() == expected["hu"].tolist()
    assert at.session_state[state.COHORT_IS_SYNTHETIC] is False
    assert "my cohort.csv (80 usable rows)" in texts(at)
    mapping = {s.label: s.value for s in at.selectbox}
    assert mapping["average HU"] == "hu_mean"


def test_data_page_keeps_valid_rows_and_lists_errors_with_row_and_column():
    text = cohort_csv().decode().splitlines()
    text[3] = text[3].replace(",F,", ",X,").replace(",M,", ",X,")
    at = upload(open_page("pages/data.py"), "typo.csv", "\n".join(text).encode())
    assert not at.exception
    assert len(at.session_state[state.COHORT]) == 79
    errors = [df.value for df in at.dataframe if "message" in df.value.columns]
    assert errors and errors[0].iloc[0][["row", "column"]].tolist() == [4, "sex"]
    assert "is not a sex" in errors[0].iloc[0]["message"]


def test_data_page_broken_upload_shows_a_message_and_keeps_the_earlier_cohort():
    at = upload(open_page("pages/data.py"), "good.csv", cohort_csv())
    before = at.session_state[state.COHORT]["patient_id"].tolist()
    at = upload(at, "broken.csv", b"patient_id;ovcf\n\x00\x01\x02")
    assert not at.exception
    assert any("broken.csv" in e.value and "unchanged" in e.value for e in at.error)
    assert at.session_state[state.COHORT]["patient_id"].tolist() == before
    at = upload(at, "controls_only.csv", cohort_csv().replace(b",1,", b",0,"))
    assert any("only one group" in e.value for e in at.error)
    assert at.session_state[state.COHORT]["patient_id"].tolist() == before


def test_data_page_settings_are_shared_through_session_state():
    at = upload(open_page("pages/data.py"), "good.csv", cohort_csv())
    markers = next(m for m in at.multiselect if m.label == "Markers")
    markers.set_value(["vbq", "hu"]).run()
    assert at.session_state[state.ANALYSIS_SETTINGS]["markers"] == ["vbq", "hu"]
    assert at.session_state[state.ANALYSIS_SETTINGS]["pair"] == "pair_id"


@pytest.mark.parametrize("outcome", [("fx", "none")])
def test_data_page_asks_which_outcome_value_means_ovcf(outcome):
    data = cohort_csv().decode().replace(",1,", f",{outcome[0]},").replace(",0,", f",{outcome[1]},", 200)
    at = upload(open_page("pages/data.py"), "words.csv", data.encode())
    question = next(s for s in at.selectbox if "means OVCF" in s.label)
    question.set_value("fx").run()
    table = at.session_state[state.COHORT]
    assert not at.exception and int(table["ovcf"].sum()) == 40


# ---------------------------------------------------------------- every page, three situations

ANALYSIS_PAGES = [
    "pages/home.py",
    "pages/data.py",
    "pages/cohort.py",
    "pages/correlations.py",
    "pages/roc.py",
    "pages/logistic.py",
    "pages/report.py",
]
OWN_UPLOAD_PAGES = ["pages/reliability.py", "pages/matching.py"]


def sample_analysis(table: pd.DataFrame) -> dict:
    """The analyze result the pages must show for `table` with the default settings."""
    from ovcf_core.stats.analysis import analyze_cohort

    settings = state.default_settings(table)
    return analyze_cohort(
        table, markers=settings["markers"], adjust=tuple(settings["adjust"]), pair=settings["pair"]
    ).to_dict()


@pytest.mark.parametrize("page", ANALYSIS_PAGES + OWN_UPLOAD_PAGES)
def test_page_opens_on_the_sample_labelled_synthetic_without_exception(page):
    at = open_page(page)
    assert not at.exception, at.exception
    assert at.session_state[state.COHORT_IS_SYNTHETIC] is True
    assert "synthetic" in texts(at).lower()


@pytest.mark.parametrize("page", ANALYSIS_PAGES)
def test_page_shows_an_uploaded_cohort_and_keeps_it_after_a_broken_upload(page):
    at = upload(open_page("pages/data.py"), "mine.csv", cohort_csv())
    at = upload(at, "broken.xlsx", b"PK\x03\x04 not really a workbook")
    assert any("unchanged" in e.value for e in at.error)
    at.switch_page(page).run()
    assert not at.exception, at.exception
    assert "mine.csv" in texts(at)
    assert at.session_state[state.COHORT_IS_SYNTHETIC] is False


def test_cohort_page_table1_matches_the_analysis_and_draws_each_marker():
    at = open_page("pages/cohort.py")
    table = at.session_state[state.COHORT]
    result = sample_analysis(table)
    shown = at.dataframe[0].value.set_index("Characteristic")
    vbq = result["markers"]["vbq"]
    case_column = next(c for c in shown.columns if c.startswith("OVCF"))
    assert shown.loc["VBQ score", case_column] == f"{vbq['mean_cases']:.2f} ± {vbq['sd_cases']:.2f}"
    assert case_column == f"OVCF (n={result['n']['cases']})"
    assert len(at.get("plotly_chart")) == len(result["markers"])


def test_correlations_page_shows_table2_heatmap_and_scatter_matrix():
    at = open_page("pages/correlations.py")
    table = at.session_state[state.COHORT]
    result = sample_analysis(table)
    shown = at.dataframe[0].value.set_index("Indicator")
    rho = result["markers"]["vbq"]["spearman_rho"]
    assert shown.loc["VBQ score", "Spearman ρ"] == f"{rho:.3f}".replace("-", "−")
    assert len(at.get("plotly_chart")) == 2


def test_roc_page_legend_aucs_and_cutoff_explorer_match_independent_counts():
    import json

    at = open_page("pages/roc.py")
    table = at.session_state[state.COHORT]
    result = sample_analysis(table)
    figure = json.loads(at.get("plotly_chart")[0].proto.spec)
    legend = [t["name"] for t in figure["data"] if t.get("showlegend", True) and "AUC" in t.get("name", "")]
    auc = result["markers"]["vbq"]["auc"]
    assert any(name.startswith(f"VBQ score: AUC {auc:.3f}") for name in legend), legend
    marker = next(s for s in at.selectbox if s.label == "Indicator")
    marker.set_value("vbq").run()
    slider = next(s for s in at.slider if s.label.startswith("Cut-off"))
    slider.set_value(3.30).run()
    data = table[["vbq", "ovcf"]].dropna()
    positive = data["vbq"] >= 3.30
    sensitivity = (positive & (data["ovcf"] == 1)).sum() / (data["ovcf"] == 1).sum()
    specificity = (~positive & (data["ovcf"] == 0)).sum() / (data["ovcf"] == 0).sum()
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Sensitivity"] == f"{100 * sensitivity:.1f}%"
    assert metrics["Specificity"] == f"{100 * specificity:.1f}%"
    prevalence = 0.10
    ppv = sensitivity * prevalence / (sensitivity * prevalence + (1 - specificity) * (1 - prevalence))
    assert metrics["PPV"] == f"{100 * ppv:.1f}%"
    assert not at.exception


def test_logistic_page_draws_a_forest_plot_with_the_analysis_odds_ratios():
    at = open_page("pages/logistic.py")
    table = at.session_state[state.COHORT]
    result = sample_analysis(table)
    assert not at.exception
    shown = at.dataframe[0].value.set_index("Indicator")
    vbq = result["markers"]["vbq"]
    assert shown.loc["VBQ score", "OR per SD [95% CI]"].startswith(f"{formatting.ratio(vbq['or_per_sd'])} [")
    assert len(at.get("plotly_chart")) == 1


def test_report_page_offers_html_and_xlsx_of_the_analysis():
    at = open_page("pages/report.py")
    assert not at.exception
    labels = [b.label for b in at.get("download_button")]
    assert "⬇ Tables (XLSX)" in labels
    next(t for t in at.toggle if t.label.startswith("Prepare")).set_value(True).run()
    assert "⬇ Report (HTML)" in [b.label for b in at.get("download_button")]


def test_report_page_renders_a_figure_at_a_journal_size_and_300_dpi():
    from ovcf_core.report import images

    if not images.DEBIAN_CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed")
    at = open_page("pages/report.py")
    next(s for s in at.selectbox if s.label == "Width").set_value("single column (85 mm)").run()
    next(n for n in at.number_input if n.label == "Height (mm)").set_value(70).run()
    next(b for b in at.button if b.label == "Render PNG").click().run()
    assert not at.exception, at.exception
    size = images.PrintSize(85.0, 70.0, 300)
    labels = [b.label for b in at.get("download_button")]
    assert f"⬇ PNG (85 × 70 mm, {size.pixels[0]} × {size.pixels[1]} px at 300 dpi)" in labels, labels


# ---------------------------------------------------------------- Reliability and Matching (own uploads)


def test_reliability_page_icc_of_an_upload_matches_shrout_fleiss_and_draws_bland_altman():
    from ovcf_core.stats.icc import icc_long

    data = ratings_csv(cohort_csv(30, seed=4))
    at = upload(open_page("pages/reliability.py"), "raters.csv", data)
    assert not at.exception, at.exception
    shown = at.dataframe[0].value.set_index("Indicator")
    long = pd.read_csv(pd.io.common.BytesIO(data))
    expected = icc_long(long, "patient_id", "rater", "hu")["ICC2"]
    assert shown.loc["Average HU (HU)", "ICC(2,1)"].startswith(f"{expected.icc:.3f} [")
    assert shown.loc["Average HU (HU)", "Patients"] == 60
    assert len(at.get("plotly_chart")) == 3 + 1  # + the Method agreement section's Bland–Altman plot
    from ovcf_core import SYNTHETIC_NOTE

    assert "raters.csv" in texts(at) and SYNTHETIC_NOTE not in texts(at)


def test_reliability_page_broken_upload_keeps_the_earlier_measurements():
    at = upload(open_page("pages/reliability.py"), "raters.csv", ratings_csv(cohort_csv(30, seed=4)))
    at = upload(at, "one_rater.csv", cohort_csv(5))
    assert any("one_rater.csv" in e.value and "rater" in e.value for e in at.error)
    assert "raters.csv" in texts(at)
    assert not at.exception


def test_matching_page_matches_an_uploaded_pool_and_offers_the_matched_cohort():
    from ovcf_core.stats.matching import match_controls

    data = pool_csv(cohort_csv(25, seed=9), n_controls=120)
    at = upload(open_page("pages/matching.py"), "pool.csv", data)
    assert not at.exception, at.exception
    pool, _ = validate_cohort(pd.read_csv(pd.io.common.BytesIO(data)).astype(str))
    expected = match_controls(pool, caliper=2.0)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Cases matched"] == f"{expected.n_pairs} of 25"
    assert "⬇ Matched cohort (CSV)" in [b.label for b in at.get("download_button")]
    next(b for b in at.button if b.label.startswith("Analyse the matched")).click().run()
    assert len(at.session_state[state.COHORT]) == 2 * expected.n_pairs
    assert at.session_state[state.COHORT_IS_SYNTHETIC] is False


def test_matching_page_broken_upload_keeps_the_earlier_pool():
    at = open_page("pages/matching.py")
    before = at.metric[0].value
    at = upload(at, "pool.csv", b"patient_id,ovcf\nA,1\nB,1\n")
    assert any("pool.csv" in e.value for e in at.error)
    assert at.metric[0].value == before and not at.exception


def test_data_page_computes_the_cohort_from_an_uploaded_raw_two_rater_table():
    from ovcf_core import io as table_io
    from ovcf_core import paths
    from ovcf_core.raw import cohort_from_raw

    data = paths.SAMPLE_RAW.read_bytes()
    at = upload(open_page("pages/data.py"), "raw.csv", data)
    assert not at.exception, at.exception
    expected, _ = cohort_from_raw(table_io.read_table(data, "raw.csv"), "raw.csv")
    table = at.session_state[state.COHORT]
    assert len(table) == len(expected)
    assert table["vbq"].tolist() == pytest.approx(expected["vbq"].astype(float).tolist(), nan_ok=True)
    assert any("raw measurements" in i.value for i in at.info)


RESULT_PAGES = ["pages/cohort.py", "pages/correlations.py", "pages/roc.py", "pages/logistic.py",
                "pages/matching.py", "pages/validation.py", "pages/planning.py"]  # fmt: skip


@pytest.mark.parametrize("page", RESULT_PAGES)
def test_result_tables_have_readable_headers_and_blanks(page):
    import re

    at = open_page(page)
    assert not at.exception, at.exception
    assert at.dataframe, f"{page}: no table"
    for frame in (d.value for d in at.dataframe):
        raw = [c for c in frame.columns if re.fullmatch(r"[a-z]+(_[a-z]+)+|[a-z]{3,}", str(c))]
        assert not raw, f"{page}: raw column keys {raw}"
        cells = frame.astype(str).to_numpy().ravel()
        assert not {"None", "nan", "NaN", "<NA>"} & set(cells), f"{page}: a blank shown as None/nan"
        for column in [c for c in frame.columns if c == "p" or str(c).startswith("p (")]:
            bad = [v for v in frame[column] if not re.fullmatch(r"<0\.001|[01]\.\d{3}|—", str(v))]
            assert not bad, f"{page}: p-values not as journals print them in '{column}': {bad}"
