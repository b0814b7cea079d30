"""Run a sweep with the fake methods in a separate process (to be killed by a test).

python tests/sweep_driver.py OUT WORKERS
"""

import sys

from sweep_fakes import FAKE

from advrf.experiments.sweep import run_sweep, sweep_units
from advrf.grid import axes_from_mapping

GRID = {"psi1": "lin:1:20:20", "psi2": "2", "eps": "0,0.2", "noise": "0.5"}


def units():
    return sweep_units(axes_from_mapping(GRID), theory=True, simulate=True, d=[40], seeds=2)


if __name__ == "__main__":
    run_sweep(sys.argv[1], units(), workers=int(sys.argv[2]), methods=FAKE, progress=False)
