"""Executes every notebooks/*.ipynb from scratch with nbclient (Jupyter's executor) and a python3 kernel.

The notebooks assert their own numbers (against the values the public documents print, PyTorch and independent
numpy code), so a notebook that runs to the end is a notebook whose numbers are right. The committed notebooks
carry the outputs of scripts/run-notebooks.py (so that a code host renders them): test_committed_outputs checks
that every code cell was executed, in order, without an error. The kernel inherits this
process's environment: PYTHONPATH (set by ctest to <build>/python) makes it import the build tree's convmtx,
and MPLBACKEND=Agg keeps matplotlib off any display. Skipped (with the reason) only when nbclient, nbformat
or a python3 kernel is not installed; failed then when CONVMTX_REQUIRE_ALL=1.
"""

import glob
import os

import pytest

from conftest import missing, require_module

NOTEBOOK_DIR = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", "..", "notebooks"))
NOTEBOOKS = sorted(glob.glob(os.path.join(NOTEBOOK_DIR, "*.ipynb")))
CELL_TIMEOUT = 120  # seconds per cell; the notebooks take a few seconds each

# Figures each notebook must render (PNG outputs): the pictures are part of what the notebooks teach.
MIN_IMAGES = {
    "01_transposed_convolution_as_a_matrix.ipynb": 2,
    "02_inspecting_W.ipynb": 4,
    "03_deblurring_and_super_resolution.ipynb": 2,
}


def _client_or_skip():
    nbformat = require_module("nbformat", "nbformat is not installed (Debian: python3-nbformat)")
    nbclient = require_module("nbclient", "nbclient is not installed (Debian: python3-nbclient)")
    kernelspec = require_module("jupyter_client.kernelspec",
                                "jupyter_client is not installed (Debian: python3-jupyter-client)")
    try:
        spec = kernelspec.KernelSpecManager().get_kernel_spec("python3")
    except kernelspec.NoSuchKernel:
        missing("no 'python3' Jupyter kernel is installed (Debian: python3-ipykernel)")
    return nbformat, nbclient, spec


def test_notebooks_exist():
    names = [os.path.basename(p) for p in NOTEBOOKS]
    assert "01_transposed_convolution_as_a_matrix.ipynb" in names, names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[os.path.basename(p) for p in NOTEBOOKS])
def test_committed_outputs(path):
    """The committed notebook was executed by scripts/run-notebooks.py: counts 1, 2, 3, ... on every code cell,
    no error output, its figures present, a first markdown cell that links its public sources."""
    nbformat = require_module("nbformat", "nbformat is not installed (Debian: python3-nbformat)")
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert [c.execution_count for c in code] == list(range(1, len(code) + 1)), \
        f"{os.path.basename(path)} is not committed with its outputs: run scripts/run-notebooks.py {path}"
    outputs = [o for c in code for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert sum("image/png" in o.get("data", {}) for o in outputs) >= MIN_IMAGES.get(os.path.basename(path), 0)
    assert not any("execution" in c.metadata for c in nb.cells), "timestamps: run scripts/run-notebooks.py"
    assert nb.cells[0].cell_type == "markdown" and "https://" in nb.cells[0].source


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[os.path.basename(p) for p in NOTEBOOKS])
def test_notebook_executes(path, tmp_path, monkeypatch):
    nbformat, nbclient, spec = _client_or_skip()
    # The kernel is started with this environment: the build tree's convmtx, no display, quiet debugger.
    import convmtx  # the module under test must be importable here, hence in the kernel too

    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in [os.path.dirname(os.path.dirname(convmtx.__file__)),
                                                                  os.environ.get("PYTHONPATH", "")] if p))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("PYDEVD_DISABLE_FILE_VALIDATION", "1")

    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:  # execute fresh, whatever was committed
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    client = nbclient.NotebookClient(nb, timeout=CELL_TIMEOUT, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()  # raises CellExecutionError (with the cell and traceback) on any failing assert

    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream" and o.name == "stdout")
    assert "convmtx" in text, "the first cell prints the convmtx version"
    # the kernel imported the build tree's module, not some installed copy
    assert os.path.dirname(convmtx.__file__) in text, text[:500]
    images = sum("image/png" in o.get("data", {}) for o in outputs)
    assert images >= MIN_IMAGES.get(os.path.basename(path), 0), f"{images} figures rendered"
