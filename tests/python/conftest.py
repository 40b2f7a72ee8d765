"""Shared pytest setup for the Python tests of convmtx (run by ctest with PYTHONPATH=<build>/python).

Fixtures:
    torch   the torch module, or the test is skipped with the reason (tests that do not
            request it run without PyTorch).
    rng     a numpy Generator seeded per test, so that every failure is reproducible.
"""

import os
import zlib

import numpy as np
import pytest


def pytest_report_header(config):
    import convmtx

    return f"convmtx {convmtx.__version__} from {os.path.dirname(convmtx.__file__)}"


@pytest.fixture
def torch():
    return pytest.importorskip("torch", reason="PyTorch is not installed: the parity tests need it as reference")


@pytest.fixture
def rng(request):
    return np.random.default_rng(zlib.crc32(request.node.nodeid.encode()))
