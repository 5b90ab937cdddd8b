"""From command-line arguments to the cases of a run.

A *case* is one workload x params x procs x policy, named benchstat-style
(``ping-pong/rounds=100000/procs=2/policy=no-runnext``).  The cases that differ only in their
policy form a *group*: the runner interleaves a group's policies, and reports put them side by
side.  Everything here is checked before the core is loaded, so bad input fails in a second.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field

import numpy as np

from ..engines import GO_POLICY, engine_of
from ..report.results import Case
from ..runtime.policy import (
    KNOB_NAMES,
    PolicyError,
    format_policy,
    parse_policy,
    split_policies,
)
from ..workload import Workload, WorkloadError, compile_case, expand_cases, load_workload
from ..workload.loader import MAX_PROCS


class UsageError(ValueError):
    """A bad command-line value (the CLI prints it and exits with status 2)."""


# --- names -----------------------------------------------------------------------------------

def _name_value(value) -> str:
    """A param value as it appears in a case name: no spaces or slashes (benchstat splits on
    them)."""
    return "_".join(str(value).replace("/", "_").split())


def group_name(workload: str, params: dict, procs: int) -> str:
    parts = [workload, *(f"{k}={_name_value(v)}" for k, v in params.items()), f"procs={procs}"]
    return "/".join(parts)


def case_name(workload: str, params: dict, procs: int, policy: str) -> str:
    return f"{group_name(workload, params, procs)}/policy={policy}"


def file_hash(path) -> str:
    """Hash of a workload file's bytes, kept in results to tie them to what was measured."""
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()[:16]


# --- policies --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Policy:
    name: str                 # "baseline" or "baseline,fairness_tick=0": the text of the case name
    knobs: np.ndarray = field(compare=False, hash=False)

    @property
    def engine(self) -> str:
        """"go" for the real Go runtime, "port" for the scheduler core."""
        return engine_of(self.name)

    def knob_map(self) -> dict[str, int]:
        if self.engine == "go":
            return {}
        return {name: int(v) for name, v in zip(KNOB_NAMES, self.knobs)}


def split_policy_args(values: list[str] | None) -> list[str]:
    """Policy texts from repeated ``--policy`` values, each split by policy.split_policies and
    written back canonically; duplicates dropped, baseline when none is given."""
    texts = [format_policy(preset, knobs) for value in values or []
             for preset, knobs in split_policies(value)]
    return list(dict.fromkeys(texts)) or ["baseline"]


def base_knobs(wl: Workload) -> dict:
    """The knob overrides of the workload file's ``policies:`` map, checked."""
    try:
        parse_policy("baseline", wl.policies)
    except PolicyError as err:
        raise WorkloadError(wl.source, None, "policies", str(err)) from None
    return dict(wl.policies)


def _go_policy(text: str) -> Policy:
    """The reserved policy ``go``: the real Go runtime, which takes no knobs."""
    from ..engines.golang.build import require_go
    if text != GO_POLICY:
        raise UsageError(f"--policy {text!r}: policy 'go' runs the real Go runtime and takes no "
                         "knobs (knobs belong to the port's policies)")
    require_go()
    return Policy(GO_POLICY, np.zeros(0, dtype=np.int64))


def resolve_policies(texts: list[str], wl: Workload) -> list[Policy]:
    base = base_knobs(wl)
    policies = []
    for text in texts:
        if text.split(",", 1)[0].strip() == GO_POLICY:
            policies.append(_go_policy(text))
            continue
        try:
            _, knobs = parse_policy(text, base)
        except PolicyError as err:
            raise UsageError(f"--policy {text!r}: {err}") from None
        policies.append(Policy(text, knobs))
    return policies


# --- params and procs ------------------------------------------------------------------------

def parse_param_args(items: list[str] | None) -> dict[str, list]:
    """``--param KEY=VALUE[,VALUE...]`` (repeatable; values of a repeated key add up)."""
    params: dict[str, list] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key or not value.strip():
            raise UsageError(f"--param {item!r}: expected KEY=VALUE (e.g. rounds=1000)")
        params.setdefault(key, []).extend(v.strip() for v in value.split(",") if v.strip())
    return params


def parse_procs_arg(text: str | None) -> list[int] | None:
    """``--procs 1,2,4`` -> [1, 2, 4]; None when not given."""
    if text is None:
        return None
    procs = []
    for item in (part.strip() for part in text.split(",")):
        if not item.isdigit() or int(item) < 1:
            raise UsageError(f"--procs {text!r}: expected positive integers such as 1,2,4")
        if int(item) > MAX_PROCS:
            raise UsageError(f"--procs {text!r}: {item} is more than {MAX_PROCS} Ps (GOMAXPROCS "
                             f"is at most {MAX_PROCS}, Go's _MaxGomaxprocs)")
        procs.append(int(item))
    return list(dict.fromkeys(procs))


def default_procs() -> list[int]:
    return sorted({1, os.cpu_count() or 1})


# --- the plan --------------------------------------------------------------------------------

@dataclass
class Group:
    """The cases of one workload x params x procs, one per policy."""

    workload: Workload
    workload_hash: str
    params: dict
    procs: int
    ops: int | None
    policies: list[Policy]

    @property
    def name(self) -> str:
        return group_name(self.workload.name, self.params, self.procs)

    def case_name(self, policy: Policy) -> str:
        return case_name(self.workload.name, self.params, self.procs, policy.name)


def _workload_overrides(wl: Workload, params: dict[str, list]) -> dict[str, list]:
    return {k: v for k, v in params.items() if k in wl.params}


def _check_params_used(workloads: list[Workload], params: dict[str, list]) -> None:
    """A --param must be declared by at least one workload (the first one's error if none)."""
    for key, values in params.items():
        if not any(key in wl.params for wl in workloads):
            expand_cases(workloads[0], {key: values})    # raises the loader's message


def load_groups(paths, policy_args=None, procs_arg=None, param_args=None) -> list[Group]:
    """Load, expand and compile every case; raises WorkloadError or UsageError on bad input."""
    texts = split_policy_args(policy_args)
    procs_override = parse_procs_arg(procs_arg)
    params = parse_param_args(param_args)
    workloads = [load_workload(path) for path in paths]
    _check_params_used(workloads, params)
    groups = []
    for wl in workloads:
        policies = resolve_policies(texts, wl)
        digest = file_hash(wl.source)
        for case_params in expand_cases(wl, _workload_overrides(wl, params)):
            compile_case(wl, case_params)               # every case compiles before any runs
            ops = wl.ops_value(case_params)
            for procs in procs_override or wl.procs or default_procs():
                groups.append(Group(wl, digest, case_params, procs, ops, policies))
    return groups


@dataclass
class Prepared:
    """One case, ready to run in this process."""

    workload: Workload
    program: object                 # gmpbench.workload.Program
    policy: Policy
    case: Case                      # its description, no runs yet


def prepare_case(wl: Workload, params: dict, procs: int, policy_text: str) -> Prepared:
    texts = split_policy_args([policy_text])
    if len(texts) != 1:
        raise UsageError(f"policy {policy_text!r}: expected one policy, got {len(texts)}")
    program = compile_case(wl, params)
    (policy,) = resolve_policies(texts, wl)
    case = Case(case_name(wl.name, params, procs, policy.name), wl.name, wl.source,
                file_hash(wl.source), params, procs, policy.name, policy.knob_map(),
                wl.ops_value(params))
    return Prepared(wl, program, policy, case)


def single_case_params(wl: Workload, given: dict) -> dict:
    """The params of one case: ``given`` values, and the file's value for the others (which
    must then have exactly one)."""
    for key, values in wl.params.items():
        if key not in given and len(values) != 1:
            raise UsageError(f"{wl.source}: param {key!r} has {len(values)} values "
                             f"({', '.join(map(str, values))}); pass {key}=... to pick one")
    (params,) = expand_cases(wl, {k: [v] for k, v in given.items()})
    return params


def validate_lines(path) -> list[str]:
    """``gmpbench validate``: load, check the policies map, compile every case."""
    wl = load_workload(path)
    base_knobs(wl)
    cases = expand_cases(wl)
    for params in cases:
        compile_case(wl, params)
    knobs = f", policies: {', '.join(f'{k}={v}' for k, v in wl.policies.items())}" \
        if wl.policies else ""
    procs = wl.procs or default_procs()
    return [(f"OK {path}: {wl.name}, {len(cases)} param case(s) x procs "
             f"{','.join(map(str, procs))}{knobs}")]
