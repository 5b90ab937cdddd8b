"""``gmpbench policies``: the presets and knobs of gmpbench.runtime.policy, as lines."""
from __future__ import annotations

from .document import Table
from .text import table_lines


def policy_lines() -> list[str]:
    from ..runtime.policy import KNOBS, PRESETS
    presets = Table(["preset", "knobs", "meaning"],
                    [[name, ",".join(f"{k}={v}" for k, v in knobs.items()) or "-", meaning]
                     for name, (knobs, meaning) in PRESETS.items()], "presets", ("knobs", "meaning"))
    knobs = Table(["knob", "default", "meaning"],
                  [[name, str(default), meaning] for name, (default, meaning) in KNOBS.items()],
                  "knobs", ("meaning",))
    usage = ["", "  a policy is a preset with knob settings: --policy 'baseline,fairness_tick=0'",
             "  a workload's policies: map sets knobs under every policy it runs"]
    return table_lines(presets) + [""] + table_lines(knobs) + usage + ["", *go_lines()]


def go_lines() -> list[str]:
    """The reserved policy ``go`` and the toolchain it would use."""
    from ..engines.golang.build import INSTALL_HINT, go_version
    version = go_version()
    using = f"uses {version} (the `go` on PATH)" if version else \
        f"unavailable: no `go` on PATH; {INSTALL_HINT}"
    return ["  go: reserved policy: the workload translated to Go and run on the real Go runtime, "
            "beside the port's policies; takes no knobs",
            f"      {using}"]
