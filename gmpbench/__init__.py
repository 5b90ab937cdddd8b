"""gmpbench: a workbench for Go's G-M-P goroutine scheduler."""

__version__ = "0.1.0"
