"""One version source: CMakeLists.txt's project(convmtx VERSION x.y.z) is what convmtx.__version__, the CLI's
--version, the installed CMake package (convmtxConfigVersion.cmake) and the pip package metadata (setup.py)
report. The CHANGELOG has a section for it."""

import os
import re
import subprocess
import sys

import convmtx
from conftest import find_tool, needs

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
BUILD = os.environ.get("CONVMTX_BUILD_DIR") or os.path.join(ROOT, "build")
CLI = os.environ.get("CONVMTX_CLI") or os.path.join(BUILD, "bin", "convmtx")


def project_version():
    with open(os.path.join(ROOT, "CMakeLists.txt"), encoding="utf-8") as f:
        return re.search(r"project\(convmtx VERSION ([0-9.]+)", f.read()).group(1)


def test_python_version_is_the_projects():
    assert re.fullmatch(r"[0-9]+\.[0-9]+\.[0-9]+", convmtx.__version__)
    assert convmtx.__version__ == project_version()


@needs(find_tool(CLI), f"convmtx CLI not found at {CLI} (set CONVMTX_CLI)")
def test_cli_version_agrees():
    out = subprocess.run([CLI, "--version"], capture_output=True, text=True, timeout=30).stdout
    assert out == f"convmtx {convmtx.__version__}\n"


def test_cmake_package_version_agrees():
    with open(os.path.join(BUILD, "convmtxConfigVersion.cmake"), encoding="utf-8") as f:
        m = re.search(r'set\(PACKAGE_VERSION "([^"]+)"\)', f.read())
    assert m and m.group(1) == convmtx.__version__


def test_pip_metadata_version_agrees():
    p = subprocess.run([sys.executable, "setup.py", "--version"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip().splitlines()[-1] == convmtx.__version__


def test_changelog_has_the_version():
    with open(os.path.join(ROOT, "CHANGELOG.md"), encoding="utf-8") as f:
        assert re.search(rf"^## \[?{re.escape(convmtx.__version__)}\]?", f.read(), flags=re.M)
