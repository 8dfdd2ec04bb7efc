"""Figures of ovcf_core.report: the numbers drawn match independent computations on small cohorts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ovcf_core.report import figures, html, images, style


def small_cohort(n_pairs: int = 30, seed: int = 3) -> pd.DataFrame:
    """A matched cohort (one case and one control per pair) with two indicators."""
    rng = np.random.default_rng(seed)
    rows = []
    for pair in range(n_pairs):
        for ovcf in (1, 0):
            rows.append(
                {
                    "patient_id": f"T{len(rows):03d}",
                    "ovcf": float(ovcf),
                    "pair_id": f"P{pair}",
                    "vbq": 3.0 + 0.5 * ovcf + rng.normal(0, 0.3),
                    "hu": 130 - 40 * ovcf + rng.normal(0, 20),
                }
            )
    return pd.DataFrame(rows)


def test_box_plot_draws_the_groups_quartiles_and_one_line_per_matched_pair():
    table = small_cohort()
    fig = figures.distribution_figure(table, "vbq")
    boxes = [t for t in fig.data if t.type == "box"]
    cases = table.loc[table.ovcf == 1, "vbq"]
    case_box = next(b for b in boxes if b.name.startswith("OVCF"))
    assert case_box.name == "OVCF (n=30)"
    assert case_box.median[0] == pytest.approx(float(np.median(cases)))
    assert case_box.q1[0] == pytest.approx(float(np.percentile(cases, 25)))
    lines = next(t for t in fig.data if t.type == "scattergl" and t.mode == "lines")
    assert lines.name == "matched pairs (30)"
    # every pair is a segment from a control's value to its case's value
    ys = np.asarray(lines.y, dtype=float).reshape(-1, 3)[:, :2]
    by_pair = table.pivot(index="pair_id", columns="ovcf", values="vbq")
    assert sorted(map(tuple, ys.round(9))) == sorted(map(tuple, by_pair[[0.0, 1.0]].to_numpy().round(9)))


def test_violin_and_unpaired_cohorts_draw_without_pair_lines():
    table = small_cohort().drop(columns="pair_id")
    fig = figures.distribution_figure(table, "hu", pair=None, kind="violin")
    assert {t.type for t in fig.data} == {"violin", "scattergl"}
    assert all(t.mode != "lines" for t in fig.data if t.type == "scattergl")


def test_large_cohorts_draw_a_labelled_subsample_but_box_statistics_use_everyone():
    rng = np.random.default_rng(0)
    big = pd.DataFrame({"ovcf": rng.integers(0, 2, 20_000).astype(float), "vbq": rng.normal(3, 0.4, 20_000)})
    fig = figures.distribution_figure(big, "vbq", pair=None)
    points = [t for t in fig.data if t.type == "scattergl"]
    assert all(len(t.y) == figures.MAX_POINTS for t in points)
    assert "points drawn per group" in fig.layout.title.text
    controls = big.loc[big.ovcf == 0, "vbq"]
    box = next(t for t in fig.data if t.type == "box" and t.name.startswith("Control"))
    assert box.median[0] == pytest.approx(float(np.median(controls)))


def test_roc_legend_reads_auc_with_its_confidence_interval():
    trace = figures.RocTrace(
        "VBQ score", np.array([0, 0.1, 1.0]), np.array([0, 0.8, 1.0]), 0.8951, (0.8452, 0.9449)
    )
    fig = figures.roc_figure([trace])
    names = [t.name for t in fig.data if t.showlegend is not False]
    assert names == ["VBQ score: AUC 0.895 [0.845–0.945]"]


def test_long_roc_curves_are_thinned_for_drawing_keeping_both_ends():
    fpr = np.linspace(0, 1, 50_000)
    trace = figures.RocTrace("hu", fpr, np.sqrt(fpr), 0.6)
    curve = figures.roc_figure([trace]).data[1]
    assert len(curve.x) <= figures.MAX_ROC_POINTS
    assert (curve.x[0], curve.x[-1]) == (0.0, 1.0)


def test_heatmap_cells_hold_rho_and_p():
    rho = pd.DataFrame([[1.0, 0.926], [0.926, 1.0]], index=["hu", "t_score"], columns=["hu", "t_score"])
    p = pd.DataFrame([[0.0, 1e-9], [1e-9, 0.0]], index=rho.index, columns=rho.columns)
    fig = figures.correlation_heatmap(rho, p)
    assert fig.data[0].text[0][1] == "0.93<br>p <0.001"
    assert list(fig.data[0].x) == ["Average HU", "Average T-score"]


def test_confusion_matrix_shows_counts_and_row_percentages():
    fig = figures.confusion_figure(tp=64, fp=13, fn=14, tn=65)
    assert fig.data[0].text[0] == ["64<br>(82.1%)", "14<br>(17.9%)"]
    assert fig.data[0].y[1] == "Control (n=78)"


def test_forest_plot_uses_a_log_axis_and_the_line_of_no_effect():
    rows = pd.DataFrame(
        {
            "marker": ["vbq", "hu"],
            "label": ["VBQ", "HU"],
            "or": [2.98, 0.39],
            "low": [1.78, 0.29],
            "high": [8.25, 0.77],
        }
    )
    fig = figures.forest_plot(rows)
    assert fig.layout.xaxis.type == "log"
    assert fig.layout.shapes[0].x0 == 1
    assert list(fig.data[0].error_x.array) == pytest.approx([0.77 - 0.39, 8.25 - 2.98])


def test_bland_altman_bias_and_limits_match_a_hand_computation():
    first = [10.0, 12.0, 11.0, 15.0, np.nan]
    second = [9.0, 12.5, 10.0, 13.0, 8.0]
    from ovcf_core.stats.agreement import bland_altman

    agreement = bland_altman(first, second)
    diffs = np.array([1.0, -0.5, 1.0, 2.0])  # the complete pairs only
    sd = np.sqrt(((diffs - 0.875) ** 2).sum() / 3)
    assert agreement.n == 4
    assert agreement.bias == pytest.approx(0.875)
    assert agreement.upper == pytest.approx(0.875 + 1.96 * sd)
    half = 3.182446305284263 * sd / 2  # t(0.975, 3 df) from tables, SE = sd / sqrt(4)
    assert agreement.bias_ci == pytest.approx((0.875 - half, 0.875 + half))
    fig = figures.bland_altman_figure(first, second, "hu")
    assert len(fig.layout.shapes) == 3 and "(n=4)" in fig.layout.title.text


def test_palette_is_okabe_ito_and_groups_keep_their_colours():
    assert style.CASE_COLOR == "#D55E00" and style.CONTROL_COLOR == "#0072B2"
    fig = figures.distribution_figure(small_cohort(), "hu")
    colours = {t.name.split(" ")[0]: t.marker.color for t in fig.data if t.type == "box"}
    assert colours == {"Control": style.CONTROL_COLOR, "OVCF": style.CASE_COLOR}


def test_svg_export_works_offline_with_the_local_chromium():
    fig = figures.confusion_figure(1, 2, 3, 4)
    if not images.DEBIAN_CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (the README's test command installs it)")
    svg = images.figure_image(fig, "svg")
    assert svg.lstrip().startswith(b"<svg")


def test_figure_html_inlines_plotly_and_needs_no_network():
    page = images.figure_html(figures.confusion_figure(1, 2, 3, 4)).decode()
    assert "<script src=" not in page and "Plotly.newPlot" in page


def test_report_html_escapes_user_text():
    import dataclasses

    from ovcf_core.stats.analysis import analyze_cohort

    table = small_cohort()
    analysis = analyze_cohort(table, markers=["hu"])
    analysis = dataclasses.replace(analysis, messages=("<script>x</script> constant",))
    page = html.render_report(analysis, table)
    assert "<script>x</script>" not in page and "&lt;script&gt;" in page


def _png_header(png: bytes) -> tuple[int, int, float | None]:
    """(width px, height px, dpi) read from a PNG's IHDR and pHYs chunks by hand."""
    import struct

    width, height = struct.unpack(">II", png[16:24])
    at, dpi = 8, None
    while at < len(png):
        (length,) = struct.unpack(">I", png[at : at + 4])
        if png[at + 4 : at + 8] == b"pHYs":
            per_metre, _, unit = struct.unpack(">IIB", png[at + 8 : at + 17])
            dpi = per_metre * 0.0254 if unit == 1 else None
        at += 12 + length
    return width, height, dpi


def test_print_size_gives_the_journal_pixels_and_records_300_dpi():
    size = images.PrintSize(85.0, 60.0, 300)
    assert size.pixels == (round(321 * 300 / 96), round(227 * 300 / 96))  # 85 mm = 3.35 in -> ~1004 px
    assert abs(size.pixels[0] - 85 / 25.4 * 300) < 3
    with pytest.raises(ValueError, match="outside"):
        images.PrintSize(5.0, 60.0)
    if not images.DEBIAN_CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (the README's test command installs it)")
    png = images.figure_image(figures.confusion_figure(1, 2, 3, 4), "png", size=size)
    width, height, dpi = _png_header(png)
    assert (width, height) == size.pixels
    assert dpi == pytest.approx(300, abs=0.1)
    svg = images.figure_image(figures.confusion_figure(1, 2, 3, 4), "svg", size=size).decode()
    assert 'width="321"' in svg and 'height="227"' in svg


def test_png_dpi_chunk_replaces_an_existing_one():
    if not images.DEBIAN_CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed")
    png = images.figure_image(figures.confusion_figure(1, 2, 3, 4), "png", width=200, scale=1)
    twice = images.with_png_dpi(images.with_png_dpi(png, 300), 600)
    assert twice.count(b"pHYs") == 1 and _png_header(twice)[2] == pytest.approx(600, abs=0.1)
    with pytest.raises(ValueError, match="not a PNG"):
        images.with_png_dpi(b"GIF89a", 300)


def test_a_javascript_error_in_kaleido_is_tried_again_and_then_reported(monkeypatch):
    import plotly.graph_objects as go
    from kaleido.errors import JavascriptError

    calls = []

    def flaky(self, **kwargs):
        calls.append(kwargs)
        if len(calls) == 1:  # kaleido's page not ready yet, as seen once under load
            raise JavascriptError("ReferenceError: kaleido_scopes is not defined")
        return b"<svg/>"

    monkeypatch.setattr(go.Figure, "to_image", flaky)
    assert images.figure_image(go.Figure(), "svg") == b"<svg/>"
    assert len(calls) == 2 and calls[0] == calls[1]

    def broken(self, **kwargs):
        calls.append(kwargs)
        raise JavascriptError("TypeError: a bad figure")

    calls.clear()
    monkeypatch.setattr(go.Figure, "to_image", broken)
    with pytest.raises(images.ExportUnavailable, match="failed in Chromium 3 times"):
        images.figure_image(go.Figure(), "svg")
    assert len(calls) == images.EXPORT_ATTEMPTS

    def no_browser(self, **kwargs):
        calls.append(kwargs)
        raise RuntimeError("no browser")

    calls.clear()
    monkeypatch.setattr(go.Figure, "to_image", no_browser)
    with pytest.raises(images.ExportUnavailable, match="needs Chromium"):
        images.figure_image(go.Figure(), "svg")
    assert len(calls) == 1  # not a page-load race: reported at once
