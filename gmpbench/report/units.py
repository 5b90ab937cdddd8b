"""Numbers as report text."""
from __future__ import annotations

import math

_TIME_UNITS = ((1.0, "s"), (1e-3, "ms"), (1e-6, "µs"), (1e-9, "ns"))
_RATE_PREFIXES = ((1e9, "G"), (1e6, "M"), (1e3, "k"))
NONE = "–"           # a figure that is missing or that an engine cannot give


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def seconds(value) -> str:
    """0.0123 -> "12.3 ms" (three significant digits)."""
    if _missing(value):
        return NONE
    if value == 0:
        return "0 s"
    scale, unit = next(((s, u) for s, u in _TIME_UNITS if abs(value) >= s), _TIME_UNITS[-1])
    return f"{value / scale:.3g} {unit}"


def rate(value) -> str:
    """Events per second: 1234567 -> "1.23M" (three significant digits)."""
    if _missing(value):
        return NONE
    value = float(f"{value:.3g}")           # rounded first: 999.9 -> "1k", not "1e+03"
    scale, prefix = next(((s, p) for s, p in _RATE_PREFIXES if abs(value) >= s), (1.0, ""))
    return f"{value / scale:.3g}{prefix}"


def ratio(value) -> str:
    return NONE if _missing(value) else f"{value:.3f}x"


def interval(low, high) -> str:
    return NONE if _missing(low) else f"[{low:.3f}, {high:.3f}]"


def p_value(value) -> str:
    if _missing(value):
        return NONE
    return f"{value:.2g}" if value < 0.001 else f"{value:.3f}"


def percent(part, whole) -> str:
    if _missing(part) or not whole:
        return NONE
    return f"{100.0 * part / whole:.1f}%"


def count(value) -> str:
    if _missing(value):
        return NONE
    if isinstance(value, float) and value != int(value):
        return f"{value:.1f}"
    return str(int(value))


def size(value) -> str:
    """Bytes in binary units: 512 B, 2.0 KiB, 359.4 MiB, 2.1 GiB."""
    if _missing(value) or not value:
        return NONE
    for unit in ("B", "KiB", "MiB"):
        if abs(value) < 1024:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"
