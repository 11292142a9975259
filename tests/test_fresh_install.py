"""A new user's install: a venv made with the pip that Python itself bundles (no upgrade), the
HTML converter's libraries installed exactly as pyproject.toml declares them, and a docs page read.
(On Python 3.11's pip 23.2, lxml 6 had dropped the module trafilatura imported, and every HTML
file was skipped; `make test` hid it by upgrading pip first.)"""

from __future__ import annotations

import re
import subprocess
import tomllib
import venv
from importlib.metadata import packages_distributions

import pytest

from index.converters.html import HTML
from tests.conftest import ROOT
from tests.waiting import GUARD_SECONDS

PAGE = (b"<!DOCTYPE html><html><head><title>Widgets</title></head><body><nav>Home | Docs</nav>"
        b"<div role='main'><h1>Installing widgets<a class='headerlink' href='#x'>\xc2\xb6</a></h1>"
        b"<p>Run <code>pip install widgets</code> to install the <em>widget_core</em> package.</p></div></body></html>")


def _declared_requirements(modules: tuple[str, ...]) -> list[str]:
    """pyproject.toml's own requirement lines for the distributions that provide `modules`."""
    providers = packages_distributions()
    wanted = {re.sub(r"[-_.]+", "-", d).lower() for m in modules for d in providers.get(m, ())}
    lines = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    found = [line for line in lines if re.sub(r"[-_.]+", "-", re.split(r"[<>=!~\[ ;]", line)[0]).lower() in wanted]
    assert len(found) == len(wanted), f"{sorted(wanted)} are not all declared in pyproject.toml"
    return found


def test_a_fresh_venv_with_pythons_own_pip_reads_html(tmp_path):
    # The HTML converter's libraries, and those the converters' package imports for every format.
    requirements = _declared_requirements((*HTML.modules, "ftfy", "yaml"))
    venv.EnvBuilder(with_pip=True).create(tmp_path / "venv")  # the pip that this Python bundles
    python = str(tmp_path / "venv" / "bin" / "python")
    installed = subprocess.run([python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                                *requirements], capture_output=True, text=True, timeout=GUARD_SECONDS)
    if installed.returncode != 0 and re.search(r"NewConnectionError|Could not fetch URL|No matching distribution|"
                                               r"Temporary failure in name resolution", installed.stderr):
        pytest.skip(f"the package index cannot be reached: {installed.stderr.strip().splitlines()[-1]}")
    assert installed.returncode == 0, installed.stderr
    (tmp_path / "page.html").write_bytes(PAGE)
    read = subprocess.run(
        [python, "-c", "import sys; from index.converters.html import HTML; "
                       "print(HTML.unavailable() or HTML.convert(open(sys.argv[1], 'rb').read(), 'page.html', None).text, end='')",
         str(tmp_path / "page.html")],
        cwd=tmp_path, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}, capture_output=True, text=True,
        timeout=GUARD_SECONDS)
    assert read.returncode == 0, read.stderr
    assert read.stdout == "# Installing widgets\n\nRun `pip install widgets` to install the widget_core package.\n"
