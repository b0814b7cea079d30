"""Memory model of one simulated seed, and the chunk size of the row-wise computations.

With N = round(psi1 d), n = round(psi2 d), n_t the test-set size, r = min(N, d) and 8-byte
floats, a seed holds for its whole life

    resident = 8 (N d + n d + n N)                      Theta, training inputs and Phi,

(the test set is drawn batch by batch, `instance.TEST_BATCH` rows at a time, and never held
whole) and on top of it, in turn (the peak is resident plus the largest of them):

- features: one chunk of rows (`chunk_rows`; CHUNK_BYTES at most);
- training, concentrated, N >= n (sample space): M held as Theta times a d x r factor (N > d;
  for N <= d, U itself, N x N), Phi U (n r), the perpendicular Gram (n^2, when N > d) and the
  Newton Gram, factorised in place, share one n x n array (and the diagonal, n), one block of
  GRAM_BLOCK scaled columns of Phi U:
  8 (basis + n r + n^2 + n + GRAM_BLOCK n); before them, the eigendecomposition of the smaller
  Gram of Theta: 8 EIGEN_ARRAYS r^2;
- training, concentrated, N < n (weight space): the dense M, Phi^T Phi, the active part, its
  factor and the Schur complement on at most N inactive samples (their rows and L^{-1} Phi_0^T):
  8 (9 N^2 + 2 N^2) = 8 * 11 N^2;
- training, exact: the concentrated term plus sigma'(Theta x_i / sqrt d) (n N) and the reweighted
  M' with its factor (2 N^2);
- evaluation: one batch of test inputs (TEST_BATCH d), one chunk of rows (CHUNK_BYTES), the three
  per-sample losses (3 n_t); with attack="pgd" the whole test set and the PGD attack's per-sample
  arrays ((1 + 5) n_t d); the population kernel's blocks (3 BLOCK_ROWS N) when population=True.

The model is validated against the measured peak (ru_maxrss of a fresh process, less the
interpreter's) for the concentrated variant in docs/benchmarks.md; the weight-space and exact
terms are upper estimates, not measured.
"""

from __future__ import annotations

import re

from advrf.problem import Problem
from advrf.settings import SimulationSettings
from advrf.simulation._linalg import GRAM_BLOCK

FLOAT = 8  # bytes of a float64
CHUNK_BYTES = 64 * 2**20  # temporaries of one chunk of rows (features, test-set evaluation)
CHUNK_ARRAYS_N = 4  # length-N temporaries per row of a chunk (preactivations, sigma, sigma', ...)
CHUNK_ARRAYS_D = 4  # length-d temporaries per row (gradient, direction, delta, x + delta)
POPULATION_BLOCK_ROWS = 1024  # advrf.simulation.population.BLOCK_ROWS
POPULATION_BLOCKS = 3  # rho, its kernel, and the Horner temporary
PGD_ARRAYS = 5  # n_t x d arrays of the PGD attack: start, best, delta, x + delta, noise
TEST_BATCH = 4096  # rows of the test set drawn (and its labels computed) at a time
EIGEN_ARRAYS = 4  # the smaller Gram of Theta, its eigenvectors, LAPACK's workspace (2 r^2)
_UNITS = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12}
_UNITS.update({"kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40})


def chunk_rows(big_n: int, d: int, budget: int = CHUNK_BYTES) -> int:
    """Rows per chunk: budget / (8 (CHUNK_ARRAYS_N N + CHUNK_ARRAYS_D d)), at least 1."""
    per_row = FLOAT * (CHUNK_ARRAYS_N * big_n + CHUNK_ARRAYS_D * d)
    return max(1, int(budget) // per_row)


def _sizes(problem: Problem, settings: SimulationSettings) -> tuple[int, int, int, int]:
    from advrf.simulation.instance import default_n_test, sizes

    big_n, n = sizes(problem, settings.d)
    n_test = default_n_test(n) if settings.n_test is None else settings.n_test
    return big_n, n, n_test, settings.d


def peak_bytes(problem: Problem, settings: SimulationSettings) -> int:
    """Predicted peak of the arrays of one seed (module docstring), in bytes."""
    big_n, n, n_test, d = _sizes(problem, settings)
    r = min(big_n, d)
    resident = big_n * d + n * d + n * big_n
    if big_n >= n:
        basis = d * r if big_n > d else big_n * big_n
        grams = n * n + n
        training = max(basis + n * r + grams + GRAM_BLOCK * n, EIGEN_ARRAYS * r * r)
    else:
        training = 11 * big_n * big_n
    if settings.variant == "exact":
        training += n * big_n + 2 * big_n * big_n
    evaluation = TEST_BATCH * d + 3 * n_test
    if settings.attack == "pgd":
        evaluation += (1 + PGD_ARRAYS) * n_test * d
    if settings.population:
        evaluation += POPULATION_BLOCKS * POPULATION_BLOCK_ROWS * big_n
    chunk = CHUNK_BYTES // FLOAT
    return FLOAT * (resident + max(training, evaluation + chunk, chunk))


def parse_size(text: str) -> int:
    """'4GB' -> 4 * 10^9, '500MB', '2GiB', '1e9' (bytes): a size in bytes (> 0)."""
    match = re.fullmatch(
        r"\s*([0-9]*\.?[0-9]+(?:e[0-9]+)?)\s*([kmgt]i?b?|b)?\s*", str(text).lower()
    )
    if match is None:
        raise ValueError(
            f"--max-memory (max_memory) must be a size such as 4GB or 500MB; got {text!r}"
        )
    number, unit = match.groups()
    unit = unit or ""
    if unit and not unit.endswith("b"):
        unit += "b"
    value = int(float(number) * _UNITS[unit])
    if value <= 0:
        raise ValueError(f"--max-memory (max_memory) must be a positive size; got {text!r}")
    return value


def available_memory() -> int | None:
    """The machine's available memory in bytes: psutil if installed, else MemAvailable of
    /proc/meminfo; None when neither is readable."""
    try:
        import psutil
    except ImportError:
        psutil = None
    if psutil is not None:
        return int(psutil.virtual_memory().available)
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def memory_limit(value: int | str | None) -> int | None:
    """The limit a run is checked against: "available" -> the machine's available memory
    (`available_memory`), None -> no limit, a positive int (bytes) or a size string
    (`parse_size`)."""
    if value is None:
        return None
    if isinstance(value, str):
        return available_memory() if value.strip().lower() == "available" else parse_size(value)
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ValueError(
            f"max_memory must be a positive number of bytes, a size such as '4GB', "
            f"'available' or None; got {value!r}"
        )
    return int(value)


def format_size(value: int) -> str:
    """Bytes in the largest decimal unit that keeps the number >= 1 (e.g. '1.36 GB')."""
    for unit, scale in (("TB", 10**12), ("GB", 10**9), ("MB", 10**6), ("kB", 10**3)):
        if value >= scale:
            return f"{value / scale:.3g} {unit}"
    return f"{value} B"


def check_fits(problem: Problem, settings: SimulationSettings, limit: int | None) -> int:
    """The predicted peak (bytes); ValueError naming the sizes when it exceeds limit (None: no
    limit)."""
    peak = peak_bytes(problem, settings)
    if limit is not None and peak > limit:
        big_n, n, n_test, d = _sizes(problem, settings)
        raise ValueError(
            f"this run needs about {format_size(peak)} of memory (d={d}, N={big_n}, n={n}, "
            f"n_test={n_test}, variant={settings.variant}), above the limit of "
            f"{format_size(limit)}; lower d or n_test, or raise the limit (--max-memory, "
            "max_memory= in Python)"
        )
    return peak
