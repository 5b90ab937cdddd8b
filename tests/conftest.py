import pytest


@pytest.fixture(scope="session")
def core():
    """The compiled scheduler core (loaded from numba's cache when warm)."""
    from gmpbench.runtime import load_core
    load_core()
    from gmpbench.runtime import sched
    return sched
