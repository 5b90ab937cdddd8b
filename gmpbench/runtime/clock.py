"""Clocks for the Python side: the TSC as the core reads it (for calibration)."""
from numba import njit

from .atomics import cputicks


@njit("int64()", cache=True, nogil=True)
def cputicks_now():
    return cputicks()
