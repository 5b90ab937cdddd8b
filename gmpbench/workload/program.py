"""What the workload compiler hands to the runtime: a G program and the names behind its numbers."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Program:
    """One compiled case of a workload (params substituted).

    ``code``/``dists`` follow :mod:`gmpbench.workload.ops`.  Functions are numbered in the order of
    ``func_names``; function 0 is ``main`` and its entry pc is 0.
    """

    name: str                      # workload name
    code: np.ndarray               # int64 (n, 4)
    dists: np.ndarray              # float64 (k, 3)
    func_names: list[str]          # function id -> name ("main" first)
    func_entry: np.ndarray         # int64, function id -> entry pc
    pc_func: np.ndarray            # int64, pc -> function id
    pc_line: np.ndarray            # int64, pc -> 1-based YAML line of the statement
    pc_text: list[str]             # pc -> the statement as written, for dumps ("send: ping")
    chan_names: list[str]
    chan_caps: np.ndarray          # int64, capacity per channel (0 = unbuffered)
    group_names: list[str]
    mutex_names: list[str]
    max_depth: int                 # frames a G needs (nested repeat + call), at least 1
    seed: int = 1
    params: dict = field(default_factory=dict)   # the param values of this case
    source: str = ""               # path of the YAML file
    # --- sizes (issue 16) ---
    gs_bound: int | None = None    # Gs a run may create, main included (None: unbounded; sizes.py)
    max_gs: int = 1 << 20          # G table rows (and per-G regions) a run gets: sizes.table_size
