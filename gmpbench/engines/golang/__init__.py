"""The Go engine: a workload case translated to one Go program (standard library only), built
with the ``go`` on PATH and run on the real Go runtime, measured as the port is measured.

- ``translate``: the loaded workload (params substituted) -> Go source;
- ``build``: the toolchain, and the build cache keyed by the source and the Go version;
- ``run``: running the program's warm-up and measured runs, its output as RunFigures.
"""
