"""The engines a case can run on: the port (gmpbench.runtime, every policy but ``go``) and the
real Go runtime (``golang``: the reserved policy ``go``)."""

GO_POLICY = "go"


def engine_of(policy: str) -> str:
    """"go" for the reserved policy that runs the real Go runtime, else "port"."""
    return "go" if policy == GO_POLICY else "port"
