"""The TSC as a clock: reading it from Python (calibration) and converting ticks to ns -- the
one conversion, used by the core (latencies), the trace and the results (wall time)."""
import numpy as np

from .atomics import cputicks
from .layout import S_NS_PER_TSC_Q20
from .mem import Sarr, core, i64

# ticks_to_ns's range: with S_NS_PER_TSC_Q20 <= 2**20 (a TSC of >= 1 GHz) the fixed-point
# product stays below 2**63; 2**43 ticks is 45 minutes at 3 GHz.
TICKS_MAX = 1 << 43


@core(i64())
def cputicks_now():
    return cputicks()


@core(i64(Sarr, i64))
def ticks_to_ns(S, ticks):
    """A tick count in ns: a multiply by the calibrated factor (state.new_state), since every
    execute calls it.  For Python (a scalar or an array of ticks): ``ticks_to_ns_py``."""
    return (np.minimum(ticks, TICKS_MAX) * S[S_NS_PER_TSC_Q20]) >> 20


ticks_to_ns_py = ticks_to_ns.py_func     # the same code run by numpy (no compilation)
