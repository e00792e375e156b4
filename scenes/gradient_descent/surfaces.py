"""Cost surfaces for the gradient-descent scene: f, analytic gradient, domain and minima.

Pure NumPy. Every function takes ``x`` and ``y`` as scalars or equal-shaped arrays, so the
same code evaluates one optimiser position or a 300×300 plotting grid.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import partial
from typing import Callable

import numpy as np

# Names and display labels of the surfaces, in menu order.
SURFACES: tuple[str, ...] = ("bowl", "rosenbrock", "himmelblau", "saddle", "local_minimum", "mse", "custom")
SURFACE_LABELS: tuple[str, ...] = (
    "Quadratic bowl",
    "Rosenbrock",
    "Himmelblau (four minima)",
    "Saddle point",
    "Local and global minimum",
    "Line fit (mean squared error)",
    "Your own f(x, y)",
)
#: The custom surface's expression and domain when none is given.
DEFAULT_EXPRESSION = "sin(x)*cos(y) + 0.1*(x**2 + y**2)"
DEFAULT_DOMAIN = (-3.0, 3.0, -3.0, 3.0)
#: The custom surface's f* search: a SEARCH_GRID² grid, then L-BFGS-B from the SEARCH_STARTS best cells.
SEARCH_GRID = 201
SEARCH_STARTS = 12

Array = np.ndarray


@dataclass(frozen=True)
class Surface:
    """A 2-D cost function with everything the scene needs to draw and judge it."""

    name: str
    label: str
    f: Callable[[Array, Array], Array]
    gradient: Callable[[Array, Array], tuple[Array, Array]]
    #: Plot domain (x_min, x_max, y_min, y_max).
    domain: tuple[float, float, float, float]
    #: Minima as (x, y) pairs; the global one(s) have value ``f_min``.
    minima: tuple[tuple[float, float], ...]
    #: Saddle points worth marking (may be empty).
    saddles: tuple[tuple[float, float], ...] = ()
    #: Colour by log10(f − f* + offset·max(f − f*)): a tiny offset is a log scale (values spanning
    #: many decades), a large one is nearly linear. A number, not a switch, so that the picture
    #: changes continuously with the bowl's condition number.
    color_offset: float = 1e-6
    #: Axis labels (the MSE surface is over the line's parameters).
    axis_labels: tuple[str, str] = ("x", "y")
    #: The line-fit data set (MSE surface only).
    data_x: Array | None = field(default=None, compare=False)
    data_y: Array | None = field(default=None, compare=False)
    #: True when f* (and the minima) were found numerically (custom functions): plots say "estimate".
    f_star_estimated: bool = False
    #: The text the surface was typed as (custom functions only).
    expression: str = ""
    #: Anything the user should know about how the surface was built (e.g. a domain that was fixed).
    note: str = ""
    #: f* when it is not the value at a minimum (a custom f undefined on the whole domain: 0).
    f_star: float | None = None

    @property
    def f_min(self) -> float:
        """The global minimum value f*."""
        if self.f_star is not None:
            return self.f_star
        return min(float(self.f(np.float64(mx), np.float64(my))) for mx, my in self.minima)

    @property
    def span(self) -> float:
        x0, x1, y0, y1 = self.domain
        return max(x1 - x0, y1 - y0)

    def in_bounds(self, x: float, y: float, factor: float = 10.0) -> bool:
        """True unless (x, y) lies more than ``factor`` domain sizes away from the domain's centre."""
        x0, x1, y0, y1 = self.domain
        return (abs(x - 0.5 * (x0 + x1)) <= factor * (x1 - x0)
                and abs(y - 0.5 * (y0 + y1)) <= factor * (y1 - y0))

    def hessian(self, x: float, y: float, h: float = 1e-5) -> Array:
        """Hessian by central differences of the analytic gradient (symmetrised)."""
        gxp = np.array(self.gradient(np.float64(x + h), np.float64(y)))
        gxm = np.array(self.gradient(np.float64(x - h), np.float64(y)))
        gyp = np.array(self.gradient(np.float64(x), np.float64(y + h)))
        gym = np.array(self.gradient(np.float64(x), np.float64(y - h)))
        hess = np.column_stack([(gxp - gxm) / (2 * h), (gyp - gym) / (2 * h)])
        return 0.5 * (hess + hess.T)


# -- the surfaces ------------------------------------------------------------------------------
# Each f and gradient is a module-level function bound to its constants with functools.partial,
# so a Surface (and a Session holding one) pickles: the job runner builds Sessions in a worker
# process. The constants are plain Python floats, so one optimiser position costs no NumPy calls.

def _bowl_f(c: float, s: float, kappa: float, x, y):
    u = c * x + s * y
    v = -s * x + c * y
    return 0.5 * (u * u + kappa * v * v)


def _bowl_gradient(c: float, s: float, kappa: float, x, y):
    u = c * x + s * y
    v = -s * x + c * y
    # ∇f = Rᵀ (u, κ v)
    return c * u - s * kappa * v, s * u + c * kappa * v


def bowl(condition_number: float = 10.0, angle_degrees: float = 30.0) -> Surface:
    """f = ½(u² + κ v²) in coordinates rotated by ``angle_degrees``: a ravine when κ is large."""
    kappa = float(condition_number)
    c, s = math.cos(math.radians(angle_degrees)), math.sin(math.radians(angle_degrees))
    # A round bowl reads best on a nearly linear colour scale, a ravine on a log scale: the offset
    # slides between them with log κ (10 at κ = 1, 10^-2.5 at κ = 10, 10^-6 at κ = 100).
    offset = 10.0 ** (1.0 - 3.5 * math.log10(kappa))
    return Surface("bowl", "Quadratic bowl", partial(_bowl_f, c, s, kappa), partial(_bowl_gradient, c, s, kappa),
                   (-2.5, 2.5, -2.5, 2.5), ((0.0, 0.0),), color_offset=offset)


def _rosenbrock_f(x, y):
    return (1 - x) ** 2 + 100 * (y - x * x) ** 2


def _rosenbrock_gradient(x, y):
    return -2 * (1 - x) - 400 * x * (y - x * x), 200 * (y - x * x)


def rosenbrock() -> Surface:
    return Surface("rosenbrock", "Rosenbrock", _rosenbrock_f, _rosenbrock_gradient, (-2.0, 2.0, -1.0, 3.0),
                   ((1.0, 1.0),))


def _refine(gradient, hessian_of, point, iterations: int = 50) -> tuple[float, float]:
    """Newton's method on ∇f = 0 from a nearby point (used to pin minima down at build time)."""
    p = np.array(point, dtype=float)
    for _ in range(iterations):
        g = np.array(gradient(p[0], p[1]))
        step = np.linalg.solve(hessian_of(p[0], p[1]), g)
        p = p - step
        if np.linalg.norm(step) < 1e-15:
            break
    return float(p[0]), float(p[1])


def _himmelblau_f(x, y):
    return (x * x + y - 11) ** 2 + (x + y * y - 7) ** 2


def _himmelblau_gradient(x, y):
    a = x * x + y - 11
    b = x + y * y - 7
    return 4 * x * a + 2 * b, 2 * a + 4 * y * b


def _himmelblau_hessian(x, y):
    return np.array([[12 * x * x + 4 * y - 42, 4 * x + 4 * y],
                     [4 * x + 4 * y, 12 * y * y + 4 * x - 26]])


def himmelblau() -> Surface:
    guesses = ((3.0, 2.0), (-2.8, 3.1), (-3.8, -3.3), (3.6, -1.8))
    minima = tuple(_refine(_himmelblau_gradient, _himmelblau_hessian, g) for g in guesses)
    return Surface("himmelblau", "Himmelblau", _himmelblau_f, _himmelblau_gradient, (-5.0, 5.0, -5.0, 5.0),
                   minima)


def _saddle_f(x, y):
    return x * x + 0.25 * y ** 4 - y * y


def _saddle_gradient(x, y):
    return 2 * x, y ** 3 - 2 * y


def saddle() -> Surface:
    """f = x² + y⁴/4 − y²: a saddle at the origin, minima at (0, ±√2) with f* = −1."""
    root2 = math.sqrt(2.0)
    return Surface("saddle", "Saddle point", _saddle_f, _saddle_gradient, (-2.5, 2.5, -2.5, 2.5),
                   ((0.0, root2), (0.0, -root2)), saddles=((0.0, 0.0),))


# Tilted double well: f = (x² − 1)² + TILT·x + y²; the tilt makes the left well the global one.
TILT = 0.5


def _local_minimum_f(x, y):
    return (x * x - 1) ** 2 + TILT * x + y * y


def _local_minimum_gradient(x, y):
    return 4 * x * (x * x - 1) + TILT, 2 * y


def local_minimum() -> Surface:
    # Stationary points in x: roots of 4x³ − 4x + TILT.
    roots = np.sort(np.roots([4.0, 0.0, -4.0, TILT]).real)
    left, middle, right = (float(r) for r in roots)
    return Surface("local_minimum", "Local and global minimum", _local_minimum_f, _local_minimum_gradient,
                   (-2.0, 2.0, -2.0, 2.0), ((left, 0.0), (right, 0.0)), saddles=((middle, 0.0),))


def line_data(seed: int, count: int = 12) -> tuple[Array, Array]:
    """A small noisy straight-line data set, reproducible from ``seed``."""
    rng = np.random.default_rng(seed)
    x = np.sort(rng.uniform(0.0, 4.0, count))
    intercept = rng.uniform(0.5, 1.5)
    slope = rng.uniform(0.4, 1.0)
    y = intercept + slope * x + rng.normal(0.0, 0.35, count)
    return x, y


def _mse_f(sx: float, sy: float, sxx: float, sxy: float, syy: float, t0, t1):
    # ½ mean((t0 + t1 x − y)²) expanded, so a grid costs O(grid) rather than O(grid × m).
    return 0.5 * (t0 * t0 + 2 * t0 * t1 * sx + t1 * t1 * sxx - 2 * t0 * sy - 2 * t1 * sxy + syy)


def _mse_gradient(sx: float, sy: float, sxx: float, sxy: float, syy: float, t0, t1):
    return t0 + t1 * sx - sy, t0 * sx + t1 * sxx - sxy


def mse(data_x: Array, data_y: Array) -> Surface:
    """J(θ0, θ1) = 1/(2m) Σ (θ0 + θ1 x − y)², written through the data's moments (cheap on grids)."""
    data_x = np.asarray(data_x, dtype=float)
    data_y = np.asarray(data_y, dtype=float)
    m = len(data_x)
    moments = tuple(float(v) for v in (data_x.mean(), data_y.mean(), (data_x * data_x).mean(),
                                       (data_x * data_y).mean(), (data_y * data_y).mean()))
    design = np.column_stack([np.ones(m), data_x])
    solution, *_ = np.linalg.lstsq(design, data_y, rcond=None)
    minimum = (float(solution[0]), float(solution[1]))
    return Surface("mse", "Line fit (MSE)", partial(_mse_f, *moments), partial(_mse_gradient, *moments),
                   (-3.0, 5.0, -2.0, 3.0), (minimum,),
                   axis_labels=("θ0 (intercept)", "θ1 (slope)"), data_x=data_x, data_y=data_y)


def fixed_domain(domain) -> tuple[tuple[float, float, float, float], str]:
    """The domain with each range in order and at least 1e-3 wide, and a note when it had to change."""
    x0, x1, y0, y1 = (float(v) for v in domain)
    notes = []
    fixed = []
    for low, high, name in ((x0, x1, "x"), (y0, y1, "y")):
        if high < low:
            low, high = high, low
            notes.append(f"{name} range reversed")
        if high - low < 1e-3:
            middle = 0.5 * (low + high)
            low, high = middle - 1.0, middle + 1.0
            notes.append(f"{name} range empty: using {low:g} … {high:g}")
        fixed += [low, high]
    return (fixed[0], fixed[1], fixed[2], fixed[3]), "; ".join(notes)


def _minimise(f, gradient, domain, start) -> tuple[float, float]:
    """L-BFGS-B within the domain from ``start``, using the exact gradient."""
    from scipy.optimize import minimize

    x0, x1, y0, y1 = domain

    def objective(p):
        value = float(f(np.float64(p[0]), np.float64(p[1])))
        gx, gy = gradient(np.float64(p[0]), np.float64(p[1]))
        if not (math.isfinite(value) and math.isfinite(float(gx)) and math.isfinite(float(gy))):
            return 1e300, np.zeros(2)
        return value, np.array([float(gx), float(gy)])

    result = minimize(objective, np.asarray(start, dtype=float), jac=True, method="L-BFGS-B",
                      bounds=[(x0, x1), (y0, y1)], options={"maxiter": 500, "gtol": 1e-12, "ftol": 1e-15})
    return float(result.x[0]), float(result.x[1])


def custom(text: str = DEFAULT_EXPRESSION, domain=DEFAULT_DOMAIN) -> Surface:
    """The user's f(x, y) (scenes.gradient_descent.expression): exact gradients by automatic
    differentiation; f* and the minima estimated over the domain (a grid, then L-BFGS-B from the best
    cells, polished by Newton steps where the point is inside). Raises ExpressionError for a refused text."""
    from . import expression

    tree = expression.parse(text)
    domain, note = fixed_domain(domain)
    f = partial(expression.evaluate, tree)
    gradient = partial(expression.gradient, tree)
    x0, x1, y0, y1 = domain
    xs, ys = np.linspace(x0, x1, SEARCH_GRID), np.linspace(y0, y1, SEARCH_GRID)
    gx, gy = np.meshgrid(xs, ys)
    values = np.asarray(f(gx, gy), dtype=float) * np.ones_like(gx)
    values = np.where(np.isfinite(values), values, np.inf)
    candidates: list[tuple[float, float, float]] = []
    if np.isfinite(values).any():
        # Starts: the grid's own local minima (lower than their 8 neighbours), best first, then the best
        # cells, each at least a tenth of the domain from the others.
        padded = np.pad(values, 1, constant_values=np.inf)
        neighbours = np.min([padded[1 + dr:1 + dr + SEARCH_GRID, 1 + dc:1 + dc + SEARCH_GRID]
                             for dr in (-1, 0, 1) for dc in (-1, 0, 1) if dr or dc], axis=0)
        local = np.flatnonzero((values < neighbours) & np.isfinite(values))
        local = local[np.argsort(values.ravel()[local])]
        order = np.concatenate([local, np.argsort(values, axis=None)])
        starts: list[tuple[float, float]] = []
        for index in order[: len(local) + SEARCH_GRID * 20]:
            r, c = divmod(int(index), SEARCH_GRID)
            if not np.isfinite(values[r, c]):
                break
            p = (float(xs[c]), float(ys[r]))
            if all(math.hypot((p[0] - q[0]) / (x1 - x0), (p[1] - q[1]) / (y1 - y0)) > 0.1 for q in starts):
                starts.append(p)
            if len(starts) >= SEARCH_STARTS:
                break
        for start in starts:
            with np.errstate(all="ignore"):
                px, py = _minimise(f, gradient, domain, start)
                value = float(f(np.float64(px), np.float64(py)))
            if math.isfinite(value):
                candidates.append((value, px, py))
    if not candidates:  # undefined everywhere on the grid: nothing to descend; the centre stands in
        centre = (0.5 * (x0 + x1), 0.5 * (y0 + y1))
        candidates.append((0.0, *centre))
        note = "; ".join(filter(None, [note, "f is undefined on the whole domain"]))
    candidates.sort()
    minima: list[tuple[float, float]] = []
    for _, px, py in candidates:
        if all(math.hypot((px - q[0]) / (x1 - x0), (py - q[1]) / (y1 - y0)) > 1e-3 for q in minima):
            minima.append((px, py))
    span = max(x1 - x0, y1 - y0)
    surface = Surface("custom", "Your own f(x, y)", f, gradient, domain, tuple(minima[:8]), f_star_estimated=True,
                      expression=text, note=note)
    # Polish interior stationary minima with Newton steps on the exact gradient (L-BFGS-B stops near 1e-8).
    polished = []
    for px, py in surface.minima:
        try:
            with np.errstate(all="ignore"):
                qx, qy = _refine(gradient, surface.hessian, (px, py), iterations=20)
        except np.linalg.LinAlgError:
            qx, qy = px, py
        inside = x0 <= qx <= x1 and y0 <= qy <= y1 and math.hypot(qx - px, qy - py) < 1e-3 * span
        better = inside and float(f(np.float64(qx), np.float64(qy))) <= float(f(np.float64(px), np.float64(py)))
        polished.append((qx, qy) if better else (px, py))
    # Keep the best point and the other stationary ones (a boundary point of a function falling off the
    # domain is no minimum to mark).
    kept = []
    for i, (px, py) in enumerate(polished):
        with np.errstate(all="ignore"):
            g = float(np.hypot(*gradient(np.float64(px), np.float64(py))))
            value = float(f(np.float64(px), np.float64(py)))
        if i == 0 or (math.isfinite(g) and g < 1e-6 * (1.0 + abs(value))):
            kept.append((px, py))
    undefined = "f is undefined on the whole domain" in note
    return Surface("custom", "Your own f(x, y)", f, gradient, domain, tuple(kept), f_star_estimated=True,
                   expression=text, note=note, f_star=0.0 if undefined else None)


def make_surface(name: str, condition_number: float = 10.0, seed: int = 0, expression: str = DEFAULT_EXPRESSION,
                 domain=DEFAULT_DOMAIN) -> Surface:
    """Build the surface called ``name`` (``seed`` only matters for the MSE data set; ``expression``
    and ``domain`` only for the custom one)."""
    if name == "custom":
        return custom(expression, domain)
    if name == "bowl":
        return bowl(condition_number)
    if name == "rosenbrock":
        return rosenbrock()
    if name == "himmelblau":
        return himmelblau()
    if name == "saddle":
        return saddle()
    if name == "local_minimum":
        return local_minimum()
    if name == "mse":
        return mse(*line_data(seed))
    raise ValueError(f"unknown surface {name!r}; allowed: {', '.join(SURFACES)}")
