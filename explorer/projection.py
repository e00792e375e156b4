"""Orthographic projection of 3-D points onto the screen plane, in NumPy: the 3-D views (the PCA
cloud, the gradient-descent surface) draw on normal 2-D plots, so they need no OpenGL and work
offscreen, in exports and on machines without GL."""
from __future__ import annotations

import math

import numpy as np


def orthographic(points: np.ndarray, azimuth: float, elevation: float) -> np.ndarray:
    """Screen coordinates (n x 2) of 3-D points seen from ``azimuth`` / ``elevation`` degrees: the
    points turned about z by −azimuth, then tilted about the screen's horizontal axis. NaN stays NaN."""
    a, e = math.radians(azimuth), math.radians(elevation)
    p = np.asarray(points, dtype=float).reshape(-1, 3)
    across = -p[:, 0] * math.sin(a) + p[:, 1] * math.cos(a)
    depth = p[:, 0] * math.cos(a) + p[:, 1] * math.sin(a)
    up = p[:, 2] * math.cos(e) - depth * math.sin(e)
    return np.column_stack([across, up])


def turned(azimuth: float, elevation: float, dx_pixels: float, dy_pixels: float,
           degrees_per_pixel: float = 0.5) -> tuple[float, float]:
    """The view angles after a mouse drag by (dx, dy) pixels: azimuth wraps to [−180, 180), elevation
    stays within [−90, 90]."""
    azimuth = (azimuth - degrees_per_pixel * dx_pixels + 180.0) % 360.0 - 180.0
    elevation = min(90.0, max(-90.0, elevation + degrees_per_pixel * dy_pixels))
    return round(azimuth, 1), round(elevation, 1)
