"""The Reliability page's "Method agreement" section (AppTest): the synthetic sample, wide and long uploads
with a left-out pair, the Bland–Altman figure's lines and labels, translated cut-offs, and refusals that
keep the rest of the page."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from apptest_tools import open_page
from scipy import stats
from test_method_agreement import MINI, WRIGHT, hand_icc

from ovcf_core import paths
from ovcf_core.method_agreement import SAMPLE_FILE, SAMPLE_NOTE

PAGE = "dashboard/pages/reliability.py"
UPLOADER = 1  # the section's uploader (the raters' table is the first)


@pytest.fixture(autouse=True)
def _fresh_caches():
    import streamlit as st

    st.cache_data.clear()
    st.cache_resource.clear()


def upload(at, name: str, data: bytes):
    at.file_uploader[UPLOADER].set_value((name, data, "text/csv"))
    return at.run()


def widget(elements, label: str):
    """The one widget of a kind with this label (its key changes with the table)."""
    [found] = [e for e in elements if e.label == label]
    return found


def metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def agreement_figure(at) -> dict:
    """The section's plotly figure as JSON (the one titled 'Bland–Altman: B − A ...')."""
    specs = [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]
    [spec] = [s for s in specs if "lines with" in (s["layout"].get("title") or {}).get("text", "")]
    return spec


def summary(at) -> dict[str, str]:
    """The section's summary table: statistic -> 'estimate [low, high]'."""
    [table] = [d.value for d in at.dataframe if "statistic" in [str(c).lower() for c in d.value.columns]]
    table = table.rename(columns=str.lower)  # the page shows headers capitalised (components.readable)
    return dict(zip(table["statistic"], table["estimate [95% ci]"], strict=True))


def shown(at) -> str:
    kinds = ("markdown", "caption", "error", "warning", "info")
    return "\n".join(str(e.value) for kind in kinds for e in getattr(at, kind))


def test_sample_section_shows_hand_computed_bias_limits_and_translated_cutoffs():
    at = open_page(PAGE)
    assert not at.exception, at.exception
    table = pd.read_csv(paths.SAMPLE_DATA / SAMPLE_FILE).dropna()
    d = (table["hu_l1_mask"] - table["hu_l1_manual"]).to_numpy()
    half = stats.t.ppf(0.975, d.size - 1) * d.std(ddof=1) / np.sqrt(d.size)
    got = metrics(at)
    assert got["Pairs used"] == str(d.size) and got["Left out (a value missing)"] == "3"
    assert got["Bias, B − A (HU)"] == f"{d.mean():.1f}"
    expected = f"{d.mean():.1f} [{d.mean() - half:.1f}, {d.mean() + half:.1f}]"
    assert summary(at)["bias (hu_l1_mask − hu_l1_manual)"] == expected
    lines = [s["y0"] for s in agreement_figure(at)["layout"]["shapes"] if s["type"] == "line"]
    sd = d.std(ddof=1)
    assert sorted(lines) == pytest.approx(sorted([d.mean() - 1.96 * sd, d.mean(), d.mean() + 1.96 * sd]))
    labels = [a["text"] for a in agreement_figure(at)["layout"]["annotations"]]
    assert [label.split(" ")[0] for label in labels] == ["upper", "bias", "lower"]
    assert all("[" in label for label in labels)  # each line labelled with its CI
    text = shown(at)
    assert f"L1 110 HU by hu_l1_manual ≈ {110 + d.mean():.4g} HU" in text
    assert SAMPLE_NOTE in text


def test_figure_range_keeps_every_ci_band_inside_the_plot():
    at = open_page(PAGE)
    spec = agreement_figure(at)
    low, high = spec["layout"]["yaxis"]["range"]
    bands = [(s["y0"], s["y1"]) for s in spec["layout"]["shapes"] if s["type"] == "rect"]
    assert len(bands) == 3 and all(low < y0 < y1 < high for y0, y1 in bands)


def test_wide_upload_with_a_missing_value_matches_hand_formulas_and_anova_icc():
    rows = ["patient_id,wright,mini"] + [
        f"P{i},{w},{m}" for i, (w, m) in enumerate(zip(WRIGHT, MINI, strict=True))
    ]
    rows.append("P99,400,")
    at = open_page(PAGE)
    at = upload(at, "pefr.csv", "\n".join(rows).encode())
    widget(at.selectbox, "Method A (reference)").set_value("wright")
    widget(at.selectbox, "Method B (compared with A)").set_value("mini")
    widget(at.selectbox, "The values are").set_value(None)
    at = at.run()
    assert not at.exception, at.exception
    got = metrics(at)
    assert got["Pairs used"] == "17" and got["Left out (a value missing)"] == "1"
    assert got["Bias, B − A"] == "2.12"  # the paper's −2.1 is Wright − mini
    icc, (low, high) = hand_icc(np.column_stack([WRIGHT, MINI]).astype(float))["ICC2"]
    assert got["ICC(2,1)"] == f"{icc:.3f}"
    assert summary(at)["ICC(2,1) absolute agreement"] == f"{icc:.3f} [{low:.3f}, {high:.3f}]"
    assert "Left out (spreadsheet rows): 19" in shown(at)
    assert SAMPLE_NOTE not in shown(at)


def test_long_upload_gives_the_same_bias_as_wide():
    long = ["id,method,value"] + [
        f"P{i},hand,{w}\nP{i},mask,{m}" for i, (w, m) in enumerate(zip(WRIGHT, MINI, strict=True))
    ]
    at = upload(open_page(PAGE), "long.csv", "\n".join(long).encode())
    assert widget(at.radio, "Table layout").value.startswith("long")
    widget(at.selectbox, "Method A (reference)").set_value("mask")
    widget(at.selectbox, "Method B (compared with A)").set_value("hand")
    at = at.run()
    assert not at.exception, at.exception
    assert metrics(at)["Bias, B − A"] == "−2.12"
    assert summary(at)["bias (hand − mask)"].startswith("−2.12 [−22.05, ")


def test_too_few_pairs_and_a_broken_file_are_one_line_errors_and_the_rest_stays():
    at = upload(
        open_page(PAGE), "few.csv", b"patient_id,hu_l1_manual,hu_l1_mask\nA,100,104\nB,120,\nC,90,95\n"
    )
    assert not at.exception
    [error] = [e.value for e in at.error]
    assert "at least 3 patients" in error and "has 2" in error and "\n" not in error
    assert len(at.dataframe) >= 1  # the raters' ICC table above is still shown
    at = upload(at, "empty.csv", b"")
    assert any("empty.csv" in e.value and "kept" in e.value for e in at.error)
    assert not at.exception
