"""A built wheel (not the editable checkout) carries the shipped model and sample data, and its `ovcf`
predicts and serves the dashboard from a fresh virtual environment.

The wheel is built from a copy of the sources, so nothing is written into the checkout; the fresh
environment takes the third-party packages from the test environment (a path line in a .pth file, which
does not bring along the checkout's editable install) so nothing is downloaded.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import sysconfig
import urllib.request
import venv
from pathlib import Path

import pytest
from servers import free_port, stopping, wait_healthy

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A fresh virtual environment with the project installed from its wheel; returns its bin folder."""
    base = tmp_path_factory.mktemp("wheel")
    source = base / "source"
    source.mkdir()
    for name in ("ovcf_core", "dashboard"):
        shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    wheels = base / "wheels"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(wheels),
            ".",
        ],
        cwd=source,
        check=True,
        capture_output=True,
    )
    (wheel,) = wheels.glob("ovcf_screening-*.whl")
    env_dir = base / "env"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    bin_dir = env_dir / "bin"
    site = Path(
        subprocess.run(
            [str(bin_dir / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    (site / "test_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(bin_dir / "python"),
            "install",
            "--no-deps",
            "-q",
            str(wheel),
        ],
        check=True,
        capture_output=True,
    )
    shutil.rmtree(source)
    return bin_dir


def _run(bin_dir: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(bin_dir / "ovcf"), *args], capture_output=True, text=True, cwd=cwd, timeout=120, check=False
    )


def test_the_installed_package_is_the_wheel_not_the_checkout(installed, tmp_path):
    done = subprocess.run(
        [str(installed / "python"), "-c", "import ovcf_core, ovcf_core.paths as p; "
         "print(ovcf_core.__file__); "
         "print(p.DEFAULT_MODEL.is_file(), p.SAMPLE_COHORT.is_file(), p.SAMPLE_DICOM.is_dir())"],
        capture_output=True, text=True, cwd=tmp_path, check=True,
    )  # fmt: skip
    where, found = done.stdout.splitlines()
    assert str(installed.parent) in where and str(ROOT) not in where
    assert found == "True True True"


def test_ovcf_predict_from_the_wheel_uses_the_shipped_model(installed, tmp_path):
    done = _run(
        installed, "predict", "--vbq", "3.4", "--hu", "95", "--age", "70", "--sex", "F", "--bmi", "24",
        "--json", "-", cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert 0 < out["probability"] < 1 and out["model"]["synthetic"] is True


def test_ovcf_analyze_and_measure_read_the_shipped_sample_data_from_the_wheel(installed, tmp_path):
    paths = subprocess.run(
        [str(installed / "python"), "-c", "import ovcf_core.paths as p; print(p.SAMPLE_COHORT); "
         "print(p.SAMPLE_DICOM / 'ct_axial')"],
        capture_output=True, text=True, cwd=tmp_path, check=True,
    ).stdout.splitlines()  # fmt: skip
    done = _run(installed, "analyze", paths[0], "--markers", "vbq", "--json", "-", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["n"]["cases"] == 78
    ct = Path(paths[1])
    done = _run(installed, "measure", str(ct / "series"), "--roi", str(ct / "rois.json"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["unit"] == "HU"


def test_the_dashboard_from_the_wheel_answers_its_health_check(installed, tmp_path):
    port = free_port()
    server = subprocess.Popen(
        [str(installed / "ovcf"), "dashboard", "--headless", "--port", str(port)],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    with stopping(server, grace=20):
        try:
            answer = wait_healthy(f"http://127.0.0.1:{port}", server, timeout=60).decode()
        except (RuntimeError, TimeoutError) as exc:
            pytest.fail(f"{exc}: {server.stderr.read() if server.poll() is not None else ''}")
        assert answer == "ok"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as response:
            assert response.status == 200
    # stopping `ovcf dashboard` stops the server itself (no Streamlit left running on the port)
    assert server.returncode is not None
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2)
