"""Measurement: cases from the command line, worker processes, the runner (returns data)."""
