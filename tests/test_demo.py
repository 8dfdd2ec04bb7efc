"""The hosted demo: requirements match pyproject, safe Streamlit settings, entry file and Dockerfile."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.servers import free_port, stopping, wait_healthy

ROOT = Path(__file__).resolve().parents[1]


def _requirement_lines(text: str) -> list[str]:
    """Requirement specifiers of a requirements.txt, comments and blank lines dropped, spaces removed."""
    lines = (line.split("#", 1)[0].strip() for line in text.splitlines())
    return [re.sub(r"\s+", "", line) for line in lines if line]


def _name(requirement: str) -> str:
    """The normalised distribution name of a requirement specifier (PEP 503)."""
    return re.sub(r"[-_.]+", "-", re.split(r"[<>=!~\[;@ ]", requirement, maxsplit=1)[0]).lower()


def test_requirements_txt_lists_exactly_the_pyproject_dependencies():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = {_name(r): re.sub(r"\s+", "", r) for r in project["dependencies"]}
    listed = {_name(r): r for r in _requirement_lines((ROOT / "requirements.txt").read_text())}
    missing = [wanted[n] for n in wanted if n not in listed]
    extra = [listed[n] for n in listed if n not in wanted]
    differ = [
        f"{listed[n]} (pyproject: {wanted[n]})" for n in wanted if n in listed and listed[n] != wanted[n]
    ]
    assert not missing, (
        f"requirements.txt lacks {missing}: copy them from pyproject.toml [project].dependencies"
    )
    assert not extra, f"requirements.txt has {extra}, which pyproject.toml [project].dependencies does not"
    assert not differ, f"requirements.txt and pyproject.toml pin differently: {differ}"


def test_dask_extra_and_test_extra_carry_the_distributed_scheduler():
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert any(_name(r) == "dask" and "distributed" in r for r in extras["dask"])
    assert any(_name(r) == "dask" and "distributed" in r for r in extras["test"])


def test_streamlit_config_caps_uploads_and_hides_tracebacks_and_usage_stats():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert 100 <= config["server"]["maxUploadSize"] <= 500, "a DICOM zip of a lumbar CT must fit"
    assert config["server"]["headless"] is True
    assert config["server"].get("enableXsrfProtection", True) is True
    assert config["browser"]["gatherUsageStats"] is False
    assert config["client"]["showErrorDetails"] in ("none", False)
    assert config["client"]["toolbarMode"] == "minimal"
    assert {"base", "primaryColor"} <= set(config["theme"])


def test_streamlit_config_keys_are_known_to_the_installed_streamlit():
    from streamlit import config as st_config

    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    known = set(st_config._config_options_template)
    unknown = [f"{s}.{k}" for s, opts in config.items() for k in opts if f"{s}.{k}" not in known]
    assert not unknown, f"unknown Streamlit options: {unknown}"


def test_streamlit_app_shows_the_demo_banner_above_the_dashboard_home_page():
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=60).run()
    assert not at.exception
    banner = at.warning[0].value
    assert "Public demo on synthetic sample data" in banner
    assert "not a medical device" in banner
    assert [t.value for t in at.title] == ["OVCF risk screening"], "the Home page runs below the banner"


def _dockerfile() -> dict[str, list[str]]:
    """Dockerfile instructions (continuation lines joined): instruction -> list of argument strings."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    out: dict[str, list[str]] = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            out.setdefault(keyword.upper(), []).append(rest.strip())
    return out


def _exec_form(argument: str) -> list[str]:
    """The argv of a CMD in exec form (JSON array) or shell form."""
    return json.loads(argument) if argument.startswith("[") else shlex.split(argument)


def test_dockerfile_is_slim_python_as_a_non_root_user_with_a_health_check():
    docker = _dockerfile()
    [base] = docker["FROM"]
    assert re.fullmatch(r"python:3\.1[1-9]-slim(-\w+)?", base), base
    [user] = docker["USER"]
    assert user not in ("root", "0")
    assert any("requirements.txt" in r for r in docker["RUN"])
    [health] = docker["HEALTHCHECK"]
    assert "/_stcore/health" in health
    [cmd] = docker["CMD"]
    assert "streamlit_app.py" in _exec_form(cmd)
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".git", ".venv"} <= set(ignored)


@pytest.mark.slow
def test_dockerfile_command_starts_the_app_and_its_health_check_passes():
    docker = _dockerfile()
    port = str(free_port())
    argv = _exec_form(docker["CMD"][0])
    assert argv[0] == "python"
    argv = [sys.executable, *(a.replace("8501", port).replace("0.0.0.0", "127.0.0.1") for a in argv[1:])]
    health_argv = _exec_form(docker["HEALTHCHECK"][0].split("CMD", 1)[1].strip())
    health_argv = [sys.executable, *(a.replace("8501", port) for a in health_argv[1:])]
    server = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    with stopping(server, grace=20):
        assert wait_healthy(f"http://127.0.0.1:{port}", server, timeout=90) == b"ok"
        assert subprocess.run(health_argv, timeout=30).returncode == 0
