"""One palette for every scene: colour-blind-safe series colours, colour maps done in NumPy."""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import pyqtgraph as pg

BACKGROUND = "#ffffff"
FOREGROUND = "#222222"
MUTED = "#888888"
# Okabe & Ito, colour-blind safe; used for classes, optimisers and compared runs alike.
SERIES = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000")
CLASS_COLORS = SERIES
TRAIN_SYMBOL = "o"   # filled
TEST_SYMBOL = "o"    # outlined (no brush)
ERROR_SYMBOL = "x"
DIVERGED = "#B00020"


def series_color(index: int) -> str:
    return SERIES[index % len(SERIES)]


def setup() -> None:
    """Global pyqtgraph look; call once before creating plots."""
    pg.setConfigOptions(background=BACKGROUND, foreground=FOREGROUND, antialias=True,
                        imageAxisOrder="row-major", useOpenGL=False)


@lru_cache(maxsize=16)
def lut(name: str, size: int = 256) -> np.ndarray:
    """A (size, 4) uint8 lookup table from a pyqtgraph colour map name (e.g. 'viridis')."""
    if name == "diverging":
        # Blue -> white -> orange, for probabilities (0.5 is white).
        cmap = pg.ColorMap([0.0, 0.5, 1.0], [(0, 114, 178), (247, 247, 247), (213, 94, 0)])
    else:
        cmap = pg.colormap.get(name)
    table = cmap.getLookupTable(0.0, 1.0, size, alpha=True)
    table = np.asarray(table, dtype=np.uint8)
    table.flags.writeable = False
    return table


def colorize(values: np.ndarray, name: str = "viridis", low: float | None = None,
             high: float | None = None) -> np.ndarray:
    """Map a 2-D float array to uint8 RGBA (row-major) in NumPy; non-finite values are transparent."""
    values = np.asarray(values, dtype=np.float32)
    finite = np.isfinite(values)
    if not finite.any():
        return np.zeros(values.shape + (4,), dtype=np.uint8)
    low = float(np.min(values[finite])) if low is None else low
    high = float(np.max(values[finite])) if high is None else high
    span = high - low if high > low else 1.0
    table = lut(name)
    index = np.clip((values - low) * ((len(table) - 1) / span), 0, len(table) - 1)
    index = np.where(finite, index, 0).astype(np.intp)
    rgba = table[index]
    rgba[~finite] = 0
    return rgba


class LogAxis(pg.AxisItem):
    """A log-mode axis whose minor labels thin out: 1, 2 and 5 first, then the rest only if they fit
    (pyqtgraph's own labels every minor tick of a short axis until they overlap)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # (levels already labelled, share of the axis text may fill): the rest only on long axes.
        self.setStyle(textFillLimits=[(0, 0.8), (1, 0.3), (2, 0.2)])

    def logTickValues(self, minVal, maxVal, size, stdTicks):  # noqa: N802, N803 - pyqtgraph's names
        ticks = super().logTickValues(minVal, maxVal, size, stdTicks)
        if not ticks or ticks[-1][0] is not None:
            return ticks
        minor = np.asarray(ticks[-1][1], dtype=float)
        mantissa = np.round(10 ** (minor - np.floor(minor + 1e-9)), 6)
        preferred = np.isin(mantissa, (1.0, 2.0, 5.0))
        return ticks[:-1] + [(None, list(minor[preferred])), (None, list(minor[~preferred]))]

    def logTickStrings(self, values, scale, spacing):  # noqa: N802 - pyqtgraph's name
        # One style per axis, chosen from the axis's whole visible range (pyqtgraph labels each
        # tick level separately, so its own labels mix 10¹, 5·10¹ and 0.0001 on one axis).
        low, high = sorted(self.range)
        return log_tick_labels(np.asarray(values, dtype=float) + math.log10(scale or 1.0), low, high)


#: A log axis labels its ticks as plain decimals only when it spans fewer than this many decades
#: and stays within DECIMAL_LIMITS; otherwise every label is a power of ten (m·10ⁿ).
DECIMAL_DECADES = 3
DECIMAL_LIMITS = (1e-3, 1e4)
_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def log_tick_labels(exponents, low: float, high: float) -> list[str]:
    """Labels for ticks at 10**exponents on a log axis showing 10**low .. 10**high, all in one style:
    plain decimals (0.01, 0.02, 0.5, 1, 20) when the axis spans < DECIMAL_DECADES decades within
    DECIMAL_LIMITS, else powers of ten: 10ⁿ at decades, m·10ⁿ between them (2·10⁻⁵, 5·10³)."""
    exponents = np.asarray(exponents, dtype=float)
    decimals = (high - low < DECIMAL_DECADES and 10.0 ** low >= DECIMAL_LIMITS[0] * (1 - 1e-9)
                and 10.0 ** high <= DECIMAL_LIMITS[1] * (1 + 1e-9))
    labels = []
    for exponent in exponents:
        if not math.isfinite(exponent):
            labels.append("")
            continue
        power = math.floor(exponent + 1e-9)
        mantissa = round(10.0 ** (exponent - power), 6)
        if mantissa >= 10.0:
            mantissa, power = mantissa / 10.0, power + 1
        if decimals:
            labels.append(f"{float(f'{mantissa * 10.0 ** power:.6g}'):.6g}")
        else:
            digits = str(power).translate(_SUPERSCRIPT)
            labels.append(f"10{digits}" if mantissa == 1.0 else f"{mantissa:g}·10{digits}")
    return labels
