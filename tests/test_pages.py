"""Every dashboard page under AppTest: with the sample data, after a valid upload, after a broken upload."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from dashboard import state
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
