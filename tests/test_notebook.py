"""examples/quickstart.ipynb is stored without outputs and runs from top to bottom."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import advrf

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
kernelspec = pytest.importorskip("ipykernel.kernelspec")

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "examples" / "quickstart.ipynb"
SOURCE = str(Path(advrf.__file__).resolve().parents[1])
KERNEL = "advrf-test"
TIMEOUT = 120  # seconds per cell; the whole notebook takes a few seconds


def test_notebook_is_stored_without_outputs():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code and all(not c.outputs and c.execution_count is None for c in code)


def test_notebook_runs(tmp_path):
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager

    # A kernel of this interpreter that imports this checkout's advrf, with BLAS on one thread.
    env = {"PYTHONPATH": SOURCE, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    kernelspec.write_kernel_spec(tmp_path / "kernels" / KERNEL, overrides={"env": env})
    specs = KernelSpecManager(kernel_dirs=[str(tmp_path / "kernels")])
    assert specs.get_kernel_spec(KERNEL).argv[0] == sys.executable
    manager = KernelManager(
        kernel_name=KERNEL, kernel_spec_manager=specs, transport="ipc", ip=str(tmp_path / "ipc")
    )
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(
        notebook, km=manager, timeout=TIMEOUT, resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()  # raises CellExecutionError, with the cell and its traceback, on any error
    outputs = [out for cell in notebook.cells if cell.cell_type == "code" for out in cell.outputs]
    assert not [out for out in outputs if out.output_type == "error"]
    images = [out for out in outputs if "image/png" in out.get("data", {})]
    assert len(images) == 2  # the returned Figure, and the one drawn into the user's Axes
