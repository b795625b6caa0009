"""Every agent dependency installs on a Raspberry Pi (aarch64, Python 3.11) from wheels, without a compiler.

``pip download --only-binary=:all: --platform manylinux2014_aarch64 --python-version 3.11`` of the core
dependencies plus the ``agent`` extra, read from pyproject.toml (so a new dependency is checked the day it
is added). Skipped, with pip's own words, when the package registry cannot be reached; a package that has
no aarch64 wheel fails. Also `make aarch64-check`.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NETWORK = re.compile(r"NewConnectionError|Failed to establish a new connection|Temporary failure in name resolution|"
                     r"Network is unreachable|ConnectTimeout|ReadTimeout|ProxyError|SSLError|Connection refused|"
                     r"No route to host|Name or service not known")


def agent_requirements() -> list[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras, out, todo = project["optional-dependencies"], list(project["dependencies"]), ["agent"]
    while todo:  # "junkan[x]" inside an extra pulls in extra x
        for req in extras[todo.pop()]:
            if m := re.fullmatch(r"junkan\[(.+)\]", req.replace(" ", "")):
                todo += m.group(1).split(",")
            else:
                out.append(req)
    return out


@pytest.mark.timeout(300)
def test_agent_dependencies_have_aarch64_wheels(tmp_path: Path) -> None:
    reqs = agent_requirements()
    assert any(r.startswith("asyncua") for r in reqs) and any(r.startswith("pymodbus") for r in reqs)
    cmd = [sys.executable, "-m", "pip", "download", "--disable-pip-version-check", "--only-binary=:all:",
           "--platform", "manylinux2014_aarch64", "--python-version", "3.11", "--implementation", "cp",
           "--abi", "cp311", "--retries", "1", "--timeout", "15", "-d", str(tmp_path), *reqs]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=240)
    except subprocess.TimeoutExpired:
        pytest.skip("pip download took over 240 s (registry too slow to judge)")
    output = done.stdout + done.stderr
    if done.returncode != 0 and NETWORK.search(output):
        pytest.skip(f"package registry unreachable: {NETWORK.search(output).group(0)}")  # type: ignore[union-attr]
    assert done.returncode == 0, "no aarch64 wheel for some agent dependency:\n" + output[-3000:]
    wheels = sorted(p.name for p in tmp_path.glob("*.whl"))
    assert not list(tmp_path.glob("*.tar.gz")), "an sdist slipped in"
    native = [w for w in wheels if "none-any" not in w]
    assert native and all("aarch64" in w for w in native), native
