"""Every path a tracked file names exists in the repository: a clone must be self-contained
(documents outside it -- a specification, a local checkout of Go -- are named in the repository's
own words, not by a path)."""
import re
import subprocess

from util import ROOT

# Where a relative path may be resolved from: the repository, the package (module maps say
# `runtime/sched.py`), and the naming file's own folder (added per file).
BASES = (ROOT, ROOT / "gmpbench")
TEXT = (".py", ".md", ".yaml", ".toml", ".go", ".s", ".mod", ".txt", ".cfg", "")
PATH = re.compile(r"(?<![\w.~/$:-])(/?(?:[\w.-]+/)+[\w.*-]*[\w*])")
FILE = re.compile(r"(?<![\w./-])([\w-]+\.(?:py|md))\b(?![(/])")
SOURCE = (".py", ".md", ".yaml", ".toml", ".go", ".s", ".mod")
# A path on some machine, never in a clone (checked wherever it appears).
HOST = ("/work/", "/home/", "/root/", "/mnt/", "/opt/", "/srv/", "/Users/")
OUTPUTS = ("results",)          # written by runs: examples name files that need not exist


def tracked() -> list[str]:
    """The repository's files: tracked, and new ones git does not ignore."""
    out = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"],
                         cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return sorted({p for p in out.splitlines() if p.endswith(TEXT) and (ROOT / p).is_file()})


def _exists(name: str, here) -> bool:
    for base in (*BASES, here):
        if any(base.glob(name)) if "*" in name else (base / name).exists():
            return True
    return False


def _repo_dirs() -> set[str]:
    return {p.name for p in ROOT.rglob("*") if p.is_dir() and ".git" not in p.parts} | {"."}


def missing_paths(rel: str, text: str, names: set[str], dirs: set[str]) -> list[str]:
    """The paths in text that name something in the repository that is not there."""
    here = (ROOT / rel).parent
    bad = []
    for m in PATH.finditer(text):
        p = m.group(1).rstrip(".")
        if p.startswith("/"):
            if p.startswith(HOST):
                bad.append(p)
            continue
        first = p.split("/")[0]
        if first not in dirs or first in OUTPUTS or not p.endswith(SOURCE) or \
                first == "runtime" and p.endswith(".go"):
            continue                    # not a repository path; Go's own runtime/*.go
        if not _exists(p, here):
            bad.append(p)
    if not rel.startswith("tests/"):    # tests name the scratch files they write
        bad += [m.group(1) for m in FILE.finditer(text) if m.group(1) not in names]
    return bad


def test_every_named_path_exists():
    files = tracked()
    names = {p.rsplit("/", 1)[-1] for p in files}
    dirs = _repo_dirs()
    bad = {}
    for rel in files:
        text = (ROOT / rel).read_text(errors="replace")
        found = missing_paths(rel, text, names, dirs)
        if found:
            bad[rel] = sorted(set(found))
    assert not bad, f"paths that do not exist in the repository: {bad}"


def test_the_check_catches_a_missing_path():
    names, dirs = {"layout.py"}, _repo_dirs()
    nowhere, host = "docs" + "/nowhere.md", "/home" + "/me/notes.txt"    # (not names here)
    assert missing_paths("README.md", f"see {nowhere} and layout.py", names, dirs) == [nowhere]
    assert missing_paths("README.md", f"see docs/workloads.md, {host}", names, dirs) == [host]
    assert missing_paths("README.md", "see the_spec.md", names, dirs) == ["the_spec.md"]
