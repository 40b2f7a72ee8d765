#!/usr/bin/env python3
"""Executes the notebooks (notebooks/*.ipynb, or the ones named) with nbclient and writes them back with
their outputs, so that a code host renders the printed results and the figures.

    PYTHONPATH=$PWD/build/python /usr/bin/python3 scripts/run-notebooks.py [notebooks/02_inspecting_W.ipynb ...]

The kernel is Debian's python3 kernelspec with MPLBACKEND=Agg and the caller's PYTHONPATH (made absolute: the
kernel runs in the notebook's directory). The written file is deterministic for given inputs: no execution
timestamps (record_timing off), execution counts 1, 2, 3, ... in cell order, consecutive prints of a cell merged
into one stream output, and the notebook metadata reduced to the kernelspec and language; the notebooks seed
their own random generators. A failing cell stops the run
with its traceback and exit status 1, and the notebook is left as it was. With --check the notebooks are
executed but not written (what ctest's notebooks test does).
"""

import argparse
import glob
import os
import sys

CELL_TIMEOUT = 120  # seconds per cell; each notebook takes a few seconds


def execute(path, write):
    import nbclient
    import nbformat

    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count, cell.metadata = [], None, {}
    client = nbclient.NotebookClient(nb, timeout=CELL_TIMEOUT, kernel_name="python3", record_timing=False,
                                     resources={"metadata": {"path": os.path.dirname(os.path.abspath(path))}})
    client.execute()
    count = 0
    for cell in nb.cells:
        if cell.cell_type == "code":
            count += 1
            cell.execution_count = count
            # One stream output per run of prints: how the kernel splits them depends on timing.
            merged = []
            for out in cell.outputs:
                if (out.output_type == "stream" and merged and merged[-1].output_type == "stream"
                        and merged[-1].name == out.name):
                    merged[-1].text += out.text
                else:
                    merged.append(out)
            cell.outputs = merged
            for out in cell.outputs:
                if "execution_count" in out:
                    out["execution_count"] = count
                out.get("metadata", {}).pop("execution", None)
        cell.metadata.pop("execution", None)
    nb.metadata = {"kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
                   "language_info": {"name": "python"}}
    if write:
        tmp = path + ".tmp"
        nbformat.write(nb, tmp)
        os.replace(tmp, path)
    return count


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("notebooks", nargs="*", help="notebooks to run (default: notebooks/*.ipynb)")
    ap.add_argument("--check", action="store_true", help="execute only; do not write the outputs")
    a = ap.parse_args()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    paths = a.notebooks or sorted(glob.glob(os.path.join(root, "notebooks", "*.ipynb")))
    if not paths:
        sys.exit("run-notebooks: no notebooks found")
    os.environ["MPLBACKEND"] = "Agg"
    os.environ["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"
    if os.environ.get("PYTHONPATH"):
        os.environ["PYTHONPATH"] = os.pathsep.join(os.path.abspath(p) for p in os.environ["PYTHONPATH"].split(os.pathsep))
    import nbclient.exceptions

    for path in paths:
        try:
            cells = execute(path, not a.check)
        except nbclient.exceptions.CellExecutionError as e:
            print(f"run-notebooks: {path} failed:\n{e}", file=sys.stderr)
            return 1
        print(f"{path}: {cells} code cells executed" + ("" if a.check else ", outputs written"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
