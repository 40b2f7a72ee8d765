"""CONVMTX_REQUIRE_ALL: conftest's require_module / require_tool / missing skip a test whose optional
dependency is missing, and fail it instead when CONVMTX_REQUIRE_ALL=1; any value but 0, 1 or empty is
refused. Each case runs pytest in a subprocess on a small test file that asks for a tool and a module
that do not exist (in a test, and with the needs() mark for a whole module), next to a copy of this
directory's conftest.py, and reads the outcome. Also: .ci/run sets the switch for the README's test command."""

import os
import re
import shutil
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
NO_TOOL = "convmtx-no-such-tool-7c1e"
NO_MODULE = "convmtx_no_such_module_7c1e"

PER_TEST = f'''
import sys

from conftest import require_module, require_tool


def test_missing_tool():
    require_tool("{NO_TOOL}", "the probe tool is not installed")


def test_missing_module():
    require_module("{NO_MODULE}", "the probe module is not installed")


def test_present_dependencies():
    assert require_tool(sys.executable, "the interpreter") == sys.executable
    assert require_tool("sh", "a shell").endswith("/sh")
    assert require_module("json", "json").dumps([1]) == "[1]"
'''

MODULE_LEVEL = f'''
from conftest import find_tool, needs

pytestmark = needs(find_tool("{NO_TOOL}"), "the probe tool is not installed")


def test_one():
    raise AssertionError("a test of a module without its dependency ran")


@needs(find_tool("sh"), "a shell")
def test_two():
    raise AssertionError("a test of a module without its dependency ran")
'''


def run_pytest(tmp_path, source, value):
    """pytest on `source` as test_probe.py with CONVMTX_REQUIRE_ALL=value (None: unset)."""
    shutil.copy(os.path.join(HERE, "conftest.py"), tmp_path / "conftest.py")
    (tmp_path / "test_probe.py").write_text(source)
    env = {k: v for k, v in os.environ.items() if k != "CONVMTX_REQUIRE_ALL"}
    if value is not None:
        env["CONVMTX_REQUIRE_ALL"] = value
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    r = subprocess.run([sys.executable, "-m", "pytest", "-rsf", "-p", "no:cacheprovider", "test_probe.py"],
                       cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    counts = {word: int(n) for n, word in re.findall(r"(\d+) (passed|failed|skipped|errors?)\b", r.stdout.splitlines()[-1])
              } if r.stdout.strip() else {}
    return r, counts


@pytest.mark.parametrize("value", [None, "", "0"])
def test_missing_dependencies_skip_by_default(tmp_path, value):
    r, counts = run_pytest(tmp_path, PER_TEST, value)
    assert r.returncode == 0, r.stdout + r.stderr
    assert counts == {"passed": 1, "skipped": 2}, r.stdout
    assert "the probe tool is not installed" in r.stdout
    assert "the probe module is not installed" in r.stdout and NO_MODULE in r.stdout
    assert "missing optional dependencies skip" in r.stdout


def test_missing_dependencies_fail_with_require_all(tmp_path):
    r, counts = run_pytest(tmp_path, PER_TEST, "1")
    assert r.returncode == 1, r.stdout + r.stderr
    assert counts == {"passed": 1, "failed": 2}, r.stdout
    assert "CONVMTX_REQUIRE_ALL=1 and the probe tool is not installed" in r.stdout
    assert "CONVMTX_REQUIRE_ALL=1 and the probe module is not installed" in r.stdout
    assert "missing optional dependencies fail" in r.stdout


def test_a_module_mark_skips_or_fails_every_test(tmp_path):
    r, counts = run_pytest(tmp_path, MODULE_LEVEL, None)
    assert r.returncode == 0, r.stdout + r.stderr
    assert counts == {"skipped": 2}, r.stdout
    assert "the probe tool is not installed" in r.stdout
    r, counts = run_pytest(tmp_path, MODULE_LEVEL, "1")
    assert r.returncode == 1, r.stdout + r.stderr
    assert counts == {"errors": 2}, r.stdout  # failed in setup, before the test body
    assert r.stdout.count("CONVMTX_REQUIRE_ALL=1 and the probe tool is not installed") >= 2, r.stdout
    assert "a test of a module without its dependency ran" not in r.stdout


@pytest.mark.parametrize("value", ["yes", "true", "2"])
def test_other_values_are_refused(tmp_path, value):
    r, _ = run_pytest(tmp_path, PER_TEST, value)
    assert r.returncode == 4, r.stdout + r.stderr  # pytest's usage error
    assert f"CONVMTX_REQUIRE_ALL={value!r} must be 1" in r.stderr, r.stderr


def test_ci_run_sets_the_switch_for_the_readme_test_command(tmp_path):
    """.ci/run runs the README's test command (the set-up block's line with ctest) with CONVMTX_REQUIRE_ALL=1.
    A copy of .ci/run and README.md runs with a `bash` first on PATH that reports the command it is given
    (and runs anything else, the script itself included, with the real bash)."""
    root = os.path.dirname(os.path.dirname(HERE))
    (tmp_path / ".ci").mkdir()
    shutil.copy(os.path.join(root, ".ci", "run"), tmp_path / ".ci" / "run")
    shutil.copy(os.path.join(root, "README.md"), tmp_path / "README.md")
    fake = tmp_path / "bin"
    fake.mkdir()
    real_bash = shutil.which("bash")
    (fake / "bash").write_text('#!/bin/sh\nif [ "$1" = "-c" ]; then\n'
                               '  printf "command: %s\\nCONVMTX_REQUIRE_ALL=%s\\n" "$2" "$CONVMTX_REQUIRE_ALL"\n'
                               f'else\n  exec {real_bash} "$@"\nfi\n')
    (fake / "bash").chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k != "CONVMTX_REQUIRE_ALL"}
    env["PATH"] = f"{fake}{os.pathsep}{env.get('PATH', '')}"
    r = subprocess.run([str(fake / "bash"), str(tmp_path / ".ci" / "run")], env=env, capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    readme = open(os.path.join(root, "README.md"), encoding="utf-8").read()
    block = re.search(r"^```bash\n(.*?)^```$", readme, re.S | re.M).group(1).splitlines()
    test_line = next(line for line in block if "ctest" in line)
    assert f"command: {test_line}\nCONVMTX_REQUIRE_ALL=1\n" in r.stdout, r.stdout
