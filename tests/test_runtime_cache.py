"""numba's on-disk cache must really be reused by another process (cache=True working)."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from util import ROOT

PROBE = """
import json, time
from gmpbench.runtime import load_core, cache_dir
from gmpbench.runtime import sched
took, compiled = load_core()
stats = {f.__name__: [sum(f.stats.cache_hits.values()), sum(f.stats.cache_misses.values())]
         for f in sched.ENTRY_POINTS}
print(json.dumps({"took": took, "compiled": compiled, "stats": stats, "dir": str(cache_dir())}))
"""


def test_second_process_loads_the_core_from_cache(core):
    # This process (the `core` fixture) compiled or loaded the core; a fresh interpreter must
    # find every entry point in the cache: hits, no misses, nothing compiled.
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                         timeout=300, check=True)
    probe = json.loads(out.stdout.strip().splitlines()[-1])
    assert probe["compiled"] is False
    for name, (hits, misses) in probe["stats"].items():
        assert hits >= 1 and misses == 0, (name, hits, misses)


HASH = "import gmpbench.runtime as r; print(r.CORE_HASH, r.cache_dir().name)"


def _core_hash(package_root) -> tuple[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    env["PYTHONPATH"] = str(package_root)
    out = subprocess.run([sys.executable, "-c", HASH], capture_output=True, text=True,
                         timeout=120, check=True, env=env, cwd=package_root)
    return tuple(out.stdout.split())


def test_cache_dir_is_keyed_on_the_core_sources(tmp_path):
    """numba's cache checks only the file of the function it loads: editing a callee (runq.py,
    called by sched.py's entry points) or the instruction table must change the cache
    directory; editing a module outside the core must not."""
    import gmpbench
    copy = tmp_path / "src"
    shutil.copytree(Path(gmpbench.__file__).parent, copy / "gmpbench",
                    ignore=shutil.ignore_patterns("__pycache__"))
    first, cache = _core_hash(copy)
    assert cache == f"numba-{first}"
    seen = {first}
    for edited in ("runtime/runq.py", "workload/ops.py", "report/units.py"):
        with open(copy / "gmpbench" / edited, "a") as f:
            f.write("# edited\n")
        now, cache = _core_hash(copy)
        assert cache == f"numba-{now}"
        if edited == "report/units.py":
            assert now in seen                      # not part of the core: same cache
        else:
            assert now not in seen, edited
        seen.add(now)


def test_cache_is_scoped_to_gmpbench_and_checks_the_hash(tmp_path):
    """Importing the core sets no process-wide numba cache directory (a user's own jitted code
    caches where numba puts it), and a marker from other sources is not a warm cache."""
    probe = f"""
import os, json
from numba import njit
from numba.core import config
import gmpbench.runtime as rt
from gmpbench.runtime import mem, stats
import user_code
own = stats.hist_bucket._cache._cache_path
user = njit(cache=True)(user_code.mine)._cache._cache_path
marker = rt.cache_dir() / rt.CACHE_MARKER
rt.cache_dir().mkdir(parents=True, exist_ok=True)
marker.write_text("0123456789abcdef")
stale = rt.cache_warm()
marker.write_text(rt.CORE_HASH)
print(json.dumps({{"env": os.environ.get("NUMBA_CACHE_DIR"), "config": config.CACHE_DIR,
                  "own": own, "user": user, "dir": str(rt.cache_dir()), "stale": stale,
                  "warm": rt.cache_warm()}}))
"""
    (tmp_path / "user_code.py").write_text("def mine(x):\n    return x + 1\n")
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    env.update(XDG_CACHE_HOME=str(tmp_path / "cache"),
               PYTHONPATH=os.pathsep.join([str(ROOT), str(tmp_path)]))
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         timeout=300, env=env, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    r = json.loads(out.stdout.strip().splitlines()[-1])
    assert r["env"] is None and not r["config"]
    assert r["own"].startswith(r["dir"]) and not r["user"].startswith(r["dir"])
    assert r["stale"] is False and r["warm"] is True
