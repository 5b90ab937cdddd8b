"""The Go toolchain and the build cache of generated programs.

A program is built once per (generated source, support.go, Go version): the cache directory
``~/.cache/gmpbench/go/<key>/`` keeps ``workload.go``, ``support.go``, ``go.mod`` and the binary
``prog``, so a second run builds nothing and a user can read what was built.  Builds use the
``go`` found on PATH, with cgo off and no toolchain downloads.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from functools import lru_cache
from pathlib import Path

SUPPORT = Path(__file__).with_name("support.go")
GO_MOD = "module gmpbenchworkload\n\ngo 1.19\n"
INSTALL_HINT = "install it (Debian/Ubuntu: apt-get install golang-go) or put `go` on PATH"


class GoMissing(ValueError):
    """Policy ``go`` was asked for and no Go toolchain is on PATH (bad input: exit 2)."""

    def __init__(self):
        super().__init__("policy 'go' runs the workload on the real Go runtime and needs the Go "
                         f"toolchain, but `go` is not on PATH: {INSTALL_HINT}")


class GoBuildError(Exception):
    """The generated program did not build (exit 1): the compiler's message and the file."""

    def __init__(self, path: Path, output: str):
        self.path = path
        super().__init__(f"go build failed for the generated program {path}:\n{output.rstrip()}")


def _env() -> dict:
    return dict(os.environ, CGO_ENABLED="0", GOFLAGS="-mod=mod", GOTOOLCHAIN="local",
                GO111MODULE="on")


@lru_cache(maxsize=1)
def go_version() -> str | None:
    """The version of the `go` on PATH ("go1.19.8"), or None when there is none."""
    go = shutil.which("go")
    if go is None:
        return None
    out = subprocess.run([go, "env", "GOVERSION"], capture_output=True, text=True, env=_env())
    return out.stdout.strip() or None


def require_go() -> str:
    version = go_version()
    if version is None:
        raise GoMissing()
    return version


def cache_root() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "gmpbench"
    return base / "go"


def build_key(source: str, version: str) -> str:
    h = hashlib.sha256()
    for part in (source.encode(), SUPPORT.read_bytes(), GO_MOD.encode(), version.encode()):
        h.update(hashlib.sha256(part).digest())
    return h.hexdigest()[:20]


def _binary(source: str) -> Path:
    return cache_root() / build_key(source, require_go()) / "prog"


def is_built(source: str) -> bool:
    return _binary(source).exists()


def build(source: str) -> Path:
    """The binary of the generated ``source`` (workload.go), built now or found in the cache."""
    binary = _binary(source)
    final = binary.parent
    if binary.exists():
        return binary
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".build-", dir=final.parent))
    try:
        (tmp / "workload.go").write_text(source, encoding="utf-8")
        shutil.copyfile(SUPPORT, tmp / "support.go")
        (tmp / "go.mod").write_text(GO_MOD, encoding="utf-8")
        out = subprocess.run(["go", "build", "-trimpath", "-o", "prog", "."], cwd=tmp,
                             capture_output=True, text=True, env=_env())
        if out.returncode != 0:
            kept = final.with_name(final.name + ".failed")
            shutil.rmtree(kept, ignore_errors=True)
            os.replace(tmp, kept)
            raise GoBuildError(kept / "workload.go", out.stderr or out.stdout)
        try:
            os.replace(tmp, final)          # atomic: a concurrent build of the same key wins
        except OSError:
            if not binary.exists():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return binary
