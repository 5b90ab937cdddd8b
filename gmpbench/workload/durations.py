"""Durations and distributions of the workload language, as plain values.

Everything here works on Python values that have already had ``${...}`` substituted; it knows
nothing of YAML or of where a value came from.  Problems are raised as ``ValueError`` with a
message meant for the user; the caller adds the file, line and field.

Times are nanoseconds (float).  A distribution is the row ``(kind, p1, p2)`` of ``Program.dists``
(see :mod:`gmpbench.workload.ops`).
"""
from __future__ import annotations

import math
import re

from .ops import D_CONST, D_EXP, D_LOGNORMAL, D_NORMAL, D_UNIFORM, DIST_NAMES

UNITS_NS = {
    "ns": 1.0, "us": 1e3, "\u00b5s": 1e3, "\u03bcs": 1e3,   # micro sign and greek mu both seen
    "ms": 1e6, "s": 1e9, "m": 60e9, "h": 3600e9,
}
# Anything beyond this (about 146 years) is surely a typo, and the runtime keeps times in int64.
MAX_NS = float(2 ** 62)

_DURATION_RE = re.compile(r"([+-]?)(\d+(?:\.\d*)?|\.\d+)\s*([a-zA-Z\u00b5\u03bc]*)")

# distribution name -> (kind, names of its two parameters); "sigma" is dimensionless
DISTRIBUTIONS = {
    "exp": (D_EXP, ("mean",)),
    "uniform": (D_UNIFORM, ("lo", "hi")),
    "normal": (D_NORMAL, ("mean", "stddev")),
    "lognormal": (D_LOGNORMAL, ("median", "sigma")),
}


def parse_duration(value) -> float:
    """``"1.5ms"`` -> 1.5e6.  A bare number is accepted only when it is zero."""
    if isinstance(value, bool):
        raise ValueError(f"expected a duration like 5us, got {value!r}")
    if isinstance(value, (int, float)):
        if value == 0:
            return 0.0
        raise ValueError(f"duration {value!r} needs a unit (ns, us, ms, s), e.g. {value}us")
    if not isinstance(value, str):
        raise ValueError(f"expected a duration like 5us, got {value!r}")
    match = _DURATION_RE.fullmatch(value.strip())
    if match is None:
        raise ValueError(f"malformed duration {value!r} (expected e.g. 250ns, 5us, 1.5ms, 2s)")
    sign, number, unit = match.groups()
    if unit == "":
        if float(number) != 0:
            raise ValueError(f"duration {value!r} needs a unit (ns, us, ms, s)")
        return 0.0
    if unit not in UNITS_NS:
        raise ValueError(f"unknown unit {unit!r} in duration {value!r} (use ns, us, ms, s)")
    ns = float(number) * UNITS_NS[unit]
    if sign == "-" and ns != 0:
        raise ValueError(f"negative duration {value!r}")
    return _check_range(ns, value)


def _check_range(ns: float, shown) -> float:
    if not math.isfinite(ns) or ns > MAX_NS:
        raise ValueError(f"duration {shown!r} is too large")
    return ns


def parse_sigma(value) -> float:
    """The dimensionless shape parameter of ``lognormal``: a plain number >= 0."""
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise ValueError(f"sigma must be a plain number >= 0, got {value!r}") from None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"sigma must be a plain number >= 0, got {value!r}")
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"sigma must be a plain number >= 0, got {value!r}")
    return float(value)


def param_parser(kind: int, index: int):
    """The parser for parameter ``index`` of a distribution of ``kind``."""
    return parse_sigma if (kind, index) == (D_LOGNORMAL, 1) else parse_duration


def check_dist(kind: int, p1: float, p2: float) -> tuple[float, float, float]:
    """Check the relation between a distribution's parameters and return its dists row."""
    if kind == D_UNIFORM and p1 > p2:
        raise ValueError(f"uniform: lo {format_ns(p1)} is greater than hi {format_ns(p2)}")
    return (float(kind), float(p1), float(p2))


_FORMAT_UNITS = (("s", 1e9), ("ms", 1e6), ("us", 1e3))


def format_ns(ns: float) -> str:
    """A short duration text: 1500000 -> "1.5ms", 0 -> "0"."""
    if ns == 0:
        return "0"
    unit, scale = next(((unit, scale) for unit, scale in _FORMAT_UNITS if ns >= scale),
                       ("ns", 1.0))
    return _plain_number(ns / scale) + unit


def _plain_number(value: float) -> str:
    """At most 10 decimals, no exponent, no trailing zeros: 1.5, 250, 0.25."""
    return f"{value:.10f}".rstrip("0").rstrip(".") or "0"


def format_dist(row) -> str:
    """A dists row as text: "5us", "exp(5us)", "uniform(0, 10us)", "lognormal(5us, 1)"."""
    kind, p1, p2 = int(row[0]), float(row[1]), float(row[2])
    if kind == D_CONST:
        return format_ns(p1)
    if kind == D_EXP:
        return f"exp({format_ns(p1)})"
    second = f"{p2:g}" if kind == D_LOGNORMAL else format_ns(p2)
    return f"{DIST_NAMES.get(kind, f'dist{kind}')}({format_ns(p1)}, {second})"
