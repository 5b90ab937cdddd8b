"""The scheduler core: proc.go ported to numba, nogil, on real OS threads.

Imports only numpy, numba and llvmlite.  numba's on-disk cache checks only the source file of the
function it loads, not the modules that function calls, so a cached caller could outlive a
changed callee: the cache directory is therefore keyed on a hash of every source file of this
package and of the instruction table it interprets (DESIGN.md, "Compilation cache").
"""
import hashlib
import os
import sys
from pathlib import Path


def _core_hash() -> str:
    h = hashlib.sha256()
    here = Path(__file__).parent
    for f in sorted(here.glob("*.py")) + [here.parent / "workload" / "ops.py"]:
        h.update(f.name.encode())
        h.update(f.read_bytes())
    return h.hexdigest()[:16]


CORE_HASH = _core_hash()
CACHE_MARKER = "complete"       # written into the cache directory, holding CORE_HASH, once warm


def _cache_dir() -> Path:
    """Where numba caches this package's functions (and only them: mem.py's cache locator):
    numba-<hash of the core's sources> under the user's NUMBA_CACHE_DIR, else under
    ~/.cache/gmpbench.  Nothing is set process-wide, so other jitted code keeps numba's rules."""
    base = os.environ.get("NUMBA_CACHE_DIR") or \
        Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "gmpbench"
    return Path(base) / f"numba-{CORE_HASH}"


_CACHE_DIR = _cache_dir()


def cache_dir() -> Path:
    return _CACHE_DIR


def cache_warm() -> bool:
    """True when the core was compiled into cache_dir() from these very sources (the marker
    holds the hash it was compiled from)."""
    try:
        return (_CACHE_DIR / CACHE_MARKER).read_text() == CORE_HASH
    except OSError:
        return False


def _skip_blas_probe() -> None:
    """numba probes for SciPy's BLAS the first time it loads compiled code, which imports all of
    scipy.linalg (0.4 s here).  The core calls no BLAS: let the probe fail fast instead."""
    if "scipy.linalg" in sys.modules:
        return
    sys.modules["scipy.linalg.cython_blas"] = None
    try:
        from numba.core.registry import cpu_target
        cpu_target.target_context.refresh()
    finally:
        del sys.modules["scipy.linalg.cython_blas"]


def load_core(notify=None) -> tuple[float, bool]:
    """Load the compiled core's entry points: from numba's cache when warm, compiling them when
    cold.  ``notify(message)`` is called before a cold compile so a user knows why they wait.
    Returns (seconds taken, whether it compiled)."""
    import time
    cold = not cache_warm()
    if cold and notify:
        notify("compiling the scheduler core with numba (first run only; about 30 s)...")
    t0 = time.perf_counter()
    _skip_blas_probe()
    from . import sched
    for fn in sched.ENTRY_POINTS:
        fn.compile(fn.core_sig)
    took = time.perf_counter() - t0
    if cold:
        _CACHE_DIR.mkdir(parents=True, exist_ok=True)
        (_CACHE_DIR / CACHE_MARKER).write_text(CORE_HASH)
    return took, cold
