"""Packaging files that no engine runs here (Docker) are checked for what can be checked: they parse and agree
with the set-up script, so the image is built by the same steps as a developer machine and CI."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _dockerfile_stages() -> list[list[str]]:
    stages: list[list[str]] = []
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.upper().startswith("FROM "):
            stages.append([])
        stages[-1].append(line)
    return stages


def test_the_image_is_built_by_the_setup_script_and_runs_as_non_root():
    build, runtime = _dockerfile_stages()
    assert any(line == "RUN bash scripts/setup.sh" for line in build)
    for package in ("bot", "tracker", "transcripts", "scripts", "requirements"):
        assert any(re.match(rf"COPY {package} ", line) for line in build), package
    user = [line for line in runtime if line.startswith("USER ")]
    assert user and user[-1] != "USER root"
    assert runtime[-1] == 'CMD ["wgbot", "run"]'
    assert any(line == "COPY --from=build /app /app" for line in runtime)


def test_runtime_system_packages_are_the_setup_scripts_minus_test_tools():
    setup = (ROOT / "scripts" / "setup.sh").read_text()
    setup_packages = set(re.search(r"APT_PACKAGES=\(([^)]*)\)", setup).group(1).split())
    runtime_install = [line for line in _dockerfile_stages()[1] if "apt-get install" in line][0]
    runtime_packages = {
        w for w in runtime_install.split("apt-get install", 1)[1].split("&&")[0].split() if not w.startswith("-")
    }
    # libgomp1 is llama.cpp's OpenMP runtime: gcc brings it on a developer machine.
    assert runtime_packages - {"libgomp1"} <= setup_packages


def test_compose_parses_and_every_secret_file_is_declared():
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    assert {"postgres", "wgbot", "worker"} <= set(compose["services"])
    for name, service in compose["services"].items():
        for key, value in service.get("environment", {}).items():
            if key.endswith("_FILE"):
                secret = value.removeprefix("/run/secrets/")
                assert secret in service["secrets"], (name, key)
                assert secret in compose["secrets"]
    assert all("file" in s for s in compose["secrets"].values())
    assert "token" not in (ROOT / "compose.yaml").read_text().lower().replace("token_file", "").replace("_token", "")


def test_pyproject_pins_what_matters():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    deps = {re.split(r"[\[=<>!~ ;]", d, maxsplit=1)[0].lower(): d for d in project["dependencies"]}
    assert deps["torch"] == "torch==2.13.0"
    assert deps["discord.py"].startswith("discord.py[voice]==2.7.")
    assert "<4" in deps["apscheduler"]
    assert "openai-whisper" not in deps  # installed --no-deps by scripts/setup.sh: its metadata pulls triton
    assert "openai-whisper" in (ROOT / "scripts" / "setup.sh").read_text()
    assert project["scripts"]["wgbot"] == "bot.cli:app"


def test_ci_runs_the_readme_test_command():
    assert "make test" in (ROOT / ".ci" / "run").read_text()
    readme = (ROOT / "README.md").read_text()
    assert "make demo" in readme and "make test" in readme
