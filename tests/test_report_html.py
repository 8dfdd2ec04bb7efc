"""The HTML report: one self-contained file (plotly.js once, no CDN) with Tables 1-3, ROC, forest plot."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from ovcf_core.report import html, xlsx
from ovcf_core.schema import validate_cohort
from tests.conftest import run_cli


@pytest.fixture(scope="module")
def cohort(tmp_path_factory) -> tuple[pd.DataFrame, str]:
    """A validated matched cohort with three indicators, and its CSV path."""
    rng = np.random.default_rng(21)
    rows = []
    for pair in range(40):
        for ovcf in (1, 0):
            bone = rng.normal(-0.8 * ovcf, 1)
            rows.append(
                {
                    "patient_id": f"R{len(rows):03d}",
                    "ovcf": ovcf,
                    "age": 60 + pair % 20,
                    "sex": "F" if pair % 3 else "M",
                    "bmi": round(rng.normal(23, 2), 1),
                    "pair_id": f"P{pair}",
                    "hu": round(120 + 30 * bone, 1),
                    "t_score": round(-1.5 + 0.8 * bone + rng.normal(0, 0.3), 2),
                    "vbq": round(3 + 0.5 * ovcf + rng.normal(0, 0.3), 2),
                }
            )
    path = tmp_path_factory.mktemp("report") / "cohort.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    table, _ = validate_cohort(pd.read_csv(path).astype(str))
    return table, str(path)


def _analysis(table: pd.DataFrame):
    from ovcf_core.stats.analysis import analyze_cohort

    return analyze_cohort(table, markers=["hu", "t_score", "vbq"])


def test_report_is_self_contained_with_plotly_inlined_once(cohort):
    table, _ = cohort
    page = html.render_report(_analysis(table), table, synthetic=True)
    assert page.count("Plotly.newPlot") >= 3  # ROC, forest plot, heatmap
    assert page.count("* plotly.js v") == 1  # the bundle's banner: inlined once, not per figure
    assert "<script src=" not in page
    assert "Synthetic data" in page and "not a medical device" in page


def test_report_tables_hold_the_analysis_numbers_and_the_roc_legend(cohort):
    table, _ = cohort
    analysis = _analysis(table)
    result = analysis.to_dict()
    page = html.render_report(analysis, table)
    vbq = result["markers"]["vbq"]
    assert f"{vbq['mean_cases']:.2f} ± {vbq['sd_cases']:.2f}" in page
    legend = f"VBQ score: AUC {vbq['auc']:.3f} [{vbq['auc_ci'][0]:.3f}–{vbq['auc_ci'][1]:.3f}]"
    assert json.dumps(legend)[1:-1] in page  # figure JSON escapes the en dash
    for heading in ("Table 1.", "Table 2.", "Table 3.", "ROC analysis", "Adjusted odds ratios per SD"):
        assert heading in page


def test_workbook_has_the_report_tables(cohort):
    import io

    import openpyxl

    table, _ = cohort
    book = openpyxl.load_workbook(io.BytesIO(xlsx.report_workbook(_analysis(table))))
    assert {"Table 1", "Table 2", "Table 3", "ROC", "AUC comparisons"} <= set(book.sheetnames)


def test_cli_analyze_writes_the_html_report(cohort, tmp_path):
    _, path = cohort
    out = tmp_path / "report.html"
    done = run_cli("analyze", path, "--json", str(tmp_path / "a.json"), "--report", str(out))
    assert done.returncode == 0, done.stderr
    page = out.read_text(encoding="utf-8")
    result = json.loads((tmp_path / "a.json").read_text())
    assert "Table 1." in page and "<script src=" not in page
    assert f"{result['markers']['hu']['auc']:.3f}" in page
