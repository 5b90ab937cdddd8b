"""The workload language: YAML workload files, their checks, and their compilation to G programs.

    wl = load_workload("workloads/ping-pong.yaml")     # parse + check (WorkloadError on bad input)
    for params in expand_cases(wl):                    # one dict per point of the param sweep
        program = compile_case(wl, params)             # substitute ${...}, emit code
        print("\\n".join(disasm(program)))
"""
from .compiler import compile_case, max_depth
from .disasm import disasm
from .durations import format_dist, format_ns, parse_duration
from .loader import expand_cases, load_workload
from .program import Program
from .schema import Workload, WorkloadError

__all__ = [
    "WorkloadError", "Workload", "Program", "load_workload", "expand_cases", "compile_case",
    "disasm", "max_depth", "parse_duration", "format_ns", "format_dist",
]
