import os

import pytest


@pytest.fixture(scope="session")
def core():
    """The compiled scheduler core (loaded from numba's cache when warm)."""
    from gmpbench.runtime import load_core
    load_core()
    from gmpbench.runtime import sched
    return sched


@pytest.fixture(scope="session")
def go_toolchain():
    """The Go version on PATH.  Skips without one, except in CI (CI=true), where a missing Go
    is a failure: .ci/run installs it, and a silent skip would hide the Go engine's tests."""
    from gmpbench.engines.golang.build import go_version
    version = go_version()
    if version is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but no `go` on PATH: .ci/run must install golang-go")
        pytest.skip("no go toolchain on PATH")
    return version
