"""This repo's own CI benchmarks, through the gmpbench pytest fixture.

Small cases of the shipped workloads; pytest-benchmark records their figures in extra_info.
Run with `--gmpbench-save base.json` once and `--gmpbench-compare base.json` later to gate on
a significant regression; the assertions here are about behaviour, never about speed.
"""
from util import ROOT

WORKLOADS = ROOT / "workloads"


def test_runnext_pays_off(gmpbench):
    r = gmpbench(WORKLOADS / "ping-pong.yaml", policy="baseline", procs=1, rounds=5000)
    assert r.counters["runnext_puts"] >= 2 * 5000
    assert r.time_per_op == r.wall_time / 5000           # ops: rounds, one op a round trip


def test_fan_out_steals_at_procs_2(gmpbench):
    r = gmpbench(WORKLOADS / "fan-out.yaml", procs=2, batches=100)
    assert r.counters["gs_exited"] == 100 * 100 + 1
    assert r.counters["steals"] > 0


def test_syscall_heavy_at_procs_1(gmpbench):
    r = gmpbench(WORKLOADS / "syscall-heavy.yaml", procs=1, iters=20)
    c = r.counters
    assert c["syscalls"] == 64 * 20
    assert c["syscall_fast_exits"] + c["syscall_slow_exits"] == c["syscalls"]


def test_netpoll_heavy_delivers_every_request(gmpbench):
    r = gmpbench(WORKLOADS / "netpoll-heavy.yaml", procs=2, conns=32, requests=20)
    c = r.counters
    assert c["netwaits"] == 32 * 20                      # every request waited for once
    assert c["gs_exited"] == c["gs_created"] == 32 + 1   # every conn served all of its own
    assert c["netpoll_gs"] > 0
    assert r.netpoll_latency["p50"] is not None and r.sched_latency["p50"] > 0
