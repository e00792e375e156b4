"""Contour lines as one NaN-separated path, so a whole set is drawn by a single curve item
(pyqtgraph ``connect='finite'``). contourpy: ~3 ms for 300x300 and 10 levels (pg.isocurve ~200 ms)."""
from __future__ import annotations

from typing import Sequence

import contourpy
import numpy as np


def contour_path(x: np.ndarray, y: np.ndarray, z: np.ndarray, levels: Sequence[float]) -> np.ndarray:
    """(k, 2) points of every contour line of ``z`` (rows = y, columns = x) at ``levels``, with a
    NaN row after each line; shape (0, 2) when there is none."""
    if len(levels) == 0:
        return np.zeros((0, 2))
    generator = contourpy.contour_generator(np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64),
                                            np.asarray(z, dtype=np.float64),
                                            line_type=contourpy.LineType.ChunkCombinedNan)
    pieces = []
    for lines in generator.multi_lines(np.asarray(levels, dtype=np.float64)):
        for chunk in lines[0]:
            if chunk is not None and len(chunk):
                pieces.append(chunk)
                pieces.append(np.full((1, 2), np.nan))
    return np.concatenate(pieces) if pieces else np.zeros((0, 2))
