"""Ctrl-C during a run stops every thread cleanly (the process does not hang)."""
import signal
import subprocess
import sys

from util import default_sigint, run_is_under_way, wait_for

SCRIPT = r"""
import sys, time
sys.path.insert(0, "tests")
from util import compile_text_in
from gmpbench.runtime.policy import knobs
from gmpbench.runtime.threads import RunInterrupted, run_program
prog = compile_text_in(sys.argv[1], '''
name: forever
channels: {c: 0}
main:
  - go: {fn: spin, n: 4}
  - go: {fn: pong, n: 2}
  - go: {fn: ping, n: 2}
  - wait: children
functions:
  spin:
    - loop: 1h
      do: [{work: 1ms}]
  ping:
    - loop: 1h
      do: [{send: c}, {syscall: 1ms}]
  pong:
    - loop: 1h
      do: [{recv: c}, {sleep: 1ms}]
''')
from gmpbench.runtime import load_core
load_core()                             # so that the signal comes during the run itself
print("running", flush=True)
t0 = time.monotonic()
try:
    run_program(prog, 2, knobs(), timeout=300)
except RunInterrupted:
    print(f"interrupted {time.monotonic() - t0:.2f}", flush=True)
"""


def test_ctrl_c_stops_the_threads(core, tmp_path):
    """SIGINT once the Ms have burnt 0.2 s of CPU (the run is under way): run_program raises
    RunInterrupted and the process exits on its own -- every thread stopped and joined (a
    thread left running would keep it alive: communicate's timeout would fail the test)."""
    p = subprocess.Popen([sys.executable, "-c", SCRIPT, str(tmp_path)], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, preexec_fn=default_sigint)
    try:
        assert p.stdout.readline().strip() == "running"
        wait_for(run_is_under_way(p.pid), what="the Ms to burn CPU")
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=60)
    finally:
        p.kill()
    assert p.returncode == 0, err
    assert out.startswith("interrupted"), (out, err)
