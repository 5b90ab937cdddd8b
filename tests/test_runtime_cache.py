"""numba's on-disk cache must really be reused by another process (cache=True working)."""
import json
import subprocess
import sys

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


def test_cache_dir_is_keyed_on_the_core_sources():
    from gmpbench.runtime import CORE_HASH, cache_dir
    assert CORE_HASH in cache_dir().name
