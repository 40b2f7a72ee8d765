"""Shared pytest setup for the Python tests of convmtx (run by ctest with PYTHONPATH=<build>/python).

Fixtures:
    torch   the torch module, or the test is skipped with the reason (tests that do not
            request it run without PyTorch).
    rng     a numpy Generator seeded per test, so that every failure is reproducible.

Optional dependencies (PyTorch, Chromium, LibreOffice, Node.js, Jupyter, the convmtx tool, ...) are
asked for with the functions below (`from conftest import require_tool`): inside a test or fixture
require_module / require_tool / missing; for a whole module or a decorated test the mark
needs(present, reason) (pytestmark = needs(...)), never a skip at import time. Without the
dependency the test is skipped with the reason; with the environment variable CONVMTX_REQUIRE_ALL=1
(set by .ci/run) it fails instead, so that a run where everything must be present cannot pass by
skipping. Unset, empty or 0: skip; any other value is a usage error.
"""

import importlib
import os
import shutil
import zlib

import numpy as np
import pytest

REQUIRE_ALL = "CONVMTX_REQUIRE_ALL"


def require_all():
    """True when CONVMTX_REQUIRE_ALL=1: a missing dependency fails the test instead of skipping it."""
    return os.environ.get(REQUIRE_ALL, "") == "1"


def missing(reason):
    """The running test's dependency is missing: skip it with `reason`, or fail it when CONVMTX_REQUIRE_ALL=1."""
    if require_all():
        pytest.fail(f"{REQUIRE_ALL}=1 and {reason}", pytrace=False)
    pytest.skip(reason)


def import_optional(name):
    """The module `name`, or None when it cannot be imported (for module-level imports with needs())."""
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def require_module(name, reason):
    """The imported module `name`; missing(reason) when it cannot be imported."""
    try:
        return importlib.import_module(name)
    except ImportError as e:
        missing(f"{reason} ({e})")


def find_tool(tool):
    """The path of an executable: `tool` itself when it is a path (it has a directory part), else the first
    `tool` on PATH; None when there is none or it is not an executable regular file."""
    path = tool if os.path.dirname(tool) else shutil.which(tool)
    return path if path and os.path.isfile(path) and os.access(path, os.X_OK) else None


def require_tool(tool, reason):
    """find_tool(tool); missing(reason) when it finds nothing."""
    path = find_tool(tool)
    if not path:
        missing(reason)
    return path


def needs(present, reason):
    """A mark (pytestmark = needs(...), or @needs(...) on a test) that calls missing(reason) before each
    marked test when `present` is false."""
    return pytest.mark.convmtx_dependency(bool(present), reason)


def pytest_configure(config):
    value = os.environ.get(REQUIRE_ALL, "")
    if value not in ("", "0", "1"):
        raise pytest.UsageError(f"{REQUIRE_ALL}={value!r} must be 1 (missing dependencies fail) "
                                "or 0 / unset (they skip)")
    config.addinivalue_line("markers", "convmtx_dependency(present, reason): an optional dependency of the test "
                                       "(conftest.needs)")


def pytest_runtest_setup(item):
    for mark in item.iter_markers("convmtx_dependency"):
        present, reason = mark.args
        if not present:
            missing(reason)


def pytest_report_header(config):
    import convmtx

    return [f"convmtx {convmtx.__version__} from {os.path.dirname(convmtx.__file__)}",
            f"missing optional dependencies {'fail' if require_all() else 'skip'} "
            f"({REQUIRE_ALL}={os.environ.get(REQUIRE_ALL, '')!r})"]


@pytest.fixture
def torch():
    return require_module("torch", "PyTorch is not installed (Debian: python3-torch): the parity tests need it "
                                   "as reference")


@pytest.fixture
def rng(request):
    return np.random.default_rng(zlib.crc32(request.node.nodeid.encode()))
