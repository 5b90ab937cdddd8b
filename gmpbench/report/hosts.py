"""Which machine ran a case: host metadata, node labels and kinds of machine.

A case run on a cluster (``gmpbench run --cluster``) carries its node's host metadata in
``Case.host`` (collected on the node by gmpbench.bench.node)::

    {"node": "bench-3", "hostname": "bench-3", "cpu_model": "AMD EPYC 7B13", "cores": 16,
     "kernel": "6.1.0-18-amd64", "go_version": "go1.19.8", "work_steps_per_ns": 0.41}

A case run on one machine has no ``host``: its processes' pyperf metadata (``hostname``,
``cpu_model_name``, ``cpu_count``, ``platform``, ``gmpbench_work_steps_per_ns``) say the same,
and ``case_host`` reads them instead, so that reports treat both kinds of files alike.

Two machines are of the same *kind* when their CPU model and number of cores agree: a case
compared across two kinds measures the machines as much as the change (``compare`` warns).
"""
from __future__ import annotations

from .results import Case, Results

HOST_KEYS = ("node", "hostname", "cpu_model", "cores", "kernel", "go_version",
             "work_steps_per_ns")


def case_host(case: Case) -> dict:
    """The host metadata of ``case``: its own (cluster runs), else its first process's."""
    if case.host:
        return case.host
    meta = case.processes[0].metadata if case.processes else {}
    return {"node": meta.get("hostname"), "hostname": meta.get("hostname"),
            "cpu_model": meta.get("cpu_model_name"), "cores": meta.get("cpu_count"),
            "kernel": meta.get("platform"), "go_version": case.go_version,
            "work_steps_per_ns": meta.get("gmpbench_work_steps_per_ns")}


def node_of(case: Case) -> str:
    return str(case_host(case).get("node") or "?")


def machine_kind(host: dict) -> str:
    """The kind of machine, as reports name it: CPU model and cores."""
    return f"{host.get('cpu_model') or '?'}, {host.get('cores') or '?'} cores"


def nodes_differ(cases: list[Case]) -> bool:
    """Whether the cases ran on more than one node (reports then show each case's node)."""
    return len({node_of(case) for case in cases}) > 1


def machine_warnings(old: Results, new: Results, names: list[str]) -> list[str]:
    """A warning when some case of ``names`` ran on different kinds of machine in OLD and
    NEW."""
    differ = []
    for name in names:
        a, b = case_host(old.cases[name]), case_host(new.cases[name])
        if machine_kind(a) != machine_kind(b):
            differ.append((name, a, b))
    if not differ:
        return []
    name, a, b = differ[0]
    return [f"{len(differ)} case(s) ran on different kinds of machine in old and new (e.g. "
            f"{name}: old on {a.get('node')} ({machine_kind(a)}), new on {b.get('node')} "
            f"({machine_kind(b)})): the differences may come from the machines, not the "
            f"change"]
