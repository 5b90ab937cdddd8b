"""The engines a case can run on: the port (gmpbench.runtime, every policy but ``go``) and the
real Go runtime (``golang``: the reserved policy ``go``)."""
import re

GO_POLICY = "go"


def engine_of(policy: str) -> str:
    """"go" for the reserved policy that runs the real Go runtime, else "port"."""
    return "go" if policy == GO_POLICY else "port"


# The port's preset that matches a Go engine of this minor version or later (policy.PRESETS):
# the fidelity summary sets the Go row beside it.  Before 1.14, baseline (Go 1.9/1.10).
MATCHING_PRESETS = ((14, "go1.14"),)


def matching_preset(go_version: str | None) -> str:
    """The port preset whose fidelity knobs match ``go_version`` ("go1.19.8" -> "go1.14")."""
    minor = _go_minor(go_version or "")
    preset = "baseline"
    for since, name in MATCHING_PRESETS:
        if minor >= since:
            preset = name
    return preset


def _go_minor(version: str) -> int:
    """19 for "go1.19.8" or "go1.19rc1"; 0 when it is not a release name ("devel ...")."""
    match = re.match(r"go1\.(\d+)", version)
    return int(match.group(1)) if match else 0
