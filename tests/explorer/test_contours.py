import numpy as np

from explorer.contours import contour_path


def test_contours_of_a_paraboloid_are_circles_separated_by_nan():
    x = np.linspace(-2, 2, 201)
    y = np.linspace(-2, 2, 181)
    z = x[None, :] ** 2 + y[:, None] ** 2
    path = contour_path(x, y, z, [0.25, 1.0])
    breaks = np.isnan(path[:, 0])
    assert breaks.sum() == 2 and breaks[-1]  # two closed lines, each followed by a NaN row
    radius = np.hypot(path[~breaks, 0], path[~breaks, 1])
    first = radius[: np.argmax(breaks)]
    np.testing.assert_allclose(first, 0.5, atol=2e-3)
    np.testing.assert_allclose(radius[len(first):], 1.0, atol=2e-3)


def test_no_levels_or_no_crossing_gives_an_empty_path():
    x = y = np.linspace(0, 1, 5)
    z = np.zeros((5, 5))
    assert contour_path(x, y, z, []).shape == (0, 2)
    assert contour_path(x, y, z, [3.0]).shape == (0, 2)
