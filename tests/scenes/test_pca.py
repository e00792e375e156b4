"""The PCA scene's NumPy core against independent truth: scikit-learn's PCA and KernelPCA, the
eigenvectors of the covariance for the power iteration, reconstruction identities; the story's stages,
exact restore, and every parameter combination (hypothesis)."""
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.decomposition import PCA, KernelPCA
from sklearn.preprocessing import StandardScaler

from explorer.timeline import Timeline
from scenes.pca import SCENE
from scenes.pca import sim as pca_sim
from scenes.pca.sim import PARAMS, Simulation

from tests.strategies import param_space


def make(**values):
    return Simulation(SCENE.resolve(values), seed=3)


def run(simulation):
    frames = [simulation.frame()]
    while not simulation.done:
        frames.append(simulation.step())
    return frames


def same_up_to_sign(a, b, atol):
    """Rows of a equal rows of b, each up to its sign."""
    signs = np.sign(np.sum(a * b, axis=1))
    return np.allclose(a * signs[:, None], b, atol=atol)


# -- against scikit-learn ---------------------------------------------------------------------------------
@pytest.mark.parametrize("dataset", pca_sim.DATASETS)
@pytest.mark.parametrize("standardize", [False, True])
def test_components_variance_and_scores_equal_sklearn_pca(dataset, standardize):
    simulation = make(dataset=dataset, standardize=standardize, big_scale=True, noise=0.2)
    x = np.asarray(simulation.points)
    data = StandardScaler().fit_transform(x) if standardize else x
    reference = PCA(svd_solver="full").fit(data)
    frame = simulation.frame()
    d = x.shape[1]
    assert np.allclose(frame.data["eigenvalues"], reference.explained_variance_, rtol=1e-9, atol=1e-9)
    assert np.allclose(frame.data["explained_variance_ratio"], reference.explained_variance_ratio_, atol=1e-12)
    # Components are defined up to sign, and only where their eigenvalue is distinct and non-zero
    # (digits has constant pixels: a null space of several dimensions).
    values = reference.explained_variance_
    distinct = [i for i in range(d) if values[i] > 1e-9 * values[0]
                and all(abs(values[i] - values[j]) > 1e-6 * values[0] for j in range(d) if j != i)]
    ours = np.asarray(frame.data["components"])[distinct]
    theirs = reference.components_[distinct]
    assert same_up_to_sign(ours, theirs, atol=1e-6)
    signs = np.sign(np.sum(ours * theirs, axis=1))
    scores = np.asarray(frame.data["scores"])[:, distinct] * signs
    assert np.allclose(scores, reference.transform(data)[:, distinct], atol=1e-6 * max(1.0, np.abs(scores).max()))


def test_kernel_pca_equals_sklearn_kernel_pca():
    simulation = make(dataset="circles", n_samples=300, gamma=5.0, noise=0.3)
    frame = simulation.frame()
    x = np.asarray(simulation.points)
    reference = KernelPCA(n_components=2, kernel="rbf", gamma=5.0).fit_transform(x)
    ours = np.asarray(frame.data["kernel.projections"])
    assert same_up_to_sign(ours.T, reference.T, atol=1e-7)
    # ... and it separates the rings on its first component, which no linear direction does.
    labels = np.asarray(frame.data["kernel.labels"])
    first = ours[:, 0]
    inner, outer = first[labels == 1], first[labels == 0]
    assert min(inner.max(), outer.max()) < max(inner.min(), outer.min())


def test_kernel_pca_runs_on_at_most_kernel_points_and_says_so():
    simulation = make(dataset="circles", n_samples=2000)
    frame = simulation.frame()
    assert len(frame.data["kernel.projections"]) == pca_sim.KERNEL_POINTS
    assert f"kernel PCA on the first {pca_sim.KERNEL_POINTS} of 2000 points" in frame.message


# -- identities -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dataset", ["cloud_3d", "iris", "wine", "digits"])
def test_reconstruction_with_every_component_returns_the_data(dataset):
    simulation = make(dataset=dataset, standardize=True)
    frame = simulation.frame()
    rebuilt = pca_sim.reconstruct(np.asarray(frame.data["scores"]), np.asarray(frame.data["components"]),
                                  len(frame.data["components"]), np.asarray(frame.data["mean"]),
                                  np.asarray(frame.data["scale"]))
    assert np.allclose(rebuilt, frame.data["points"], atol=1e-9 * max(1.0, np.abs(frame.data["points"]).max()))


@pytest.mark.parametrize("dataset, standardize", [("wine", False), ("breast_cancer", True), ("digits", False),
                                                  ("cloud_3d", False)])
def test_error_with_k_components_is_the_sum_of_the_discarded_eigenvalues(dataset, standardize):
    simulation = make(dataset=dataset, standardize=standardize)
    frame = simulation.frame()
    z = np.asarray(simulation.centred)
    components = np.asarray(frame.data["components"])
    scores = np.asarray(frame.data["scores"])
    n, d = z.shape
    eigenvalues = np.asarray(frame.data["eigenvalues"])
    for k in range(d + 1):
        # Measured directly: the mean squared distance of each point from its reconstruction.
        measured = float(np.mean(np.sum((z - scores[:, :k] @ components[:k]) ** 2, axis=1)))
        assert frame.data["reconstruction_error"][k] == pytest.approx(measured, rel=1e-7, abs=1e-9 * eigenvalues.sum())
        assert measured == pytest.approx(eigenvalues[k:].sum() * (n - 1) / n, rel=1e-7, abs=1e-9 * eigenvalues.sum())


def test_power_iteration_converges_to_pc1():
    rng = np.random.default_rng(0)
    for d in (2, 3, 4, 8):
        a = rng.standard_normal((d, d))
        cov = a @ a.T + np.diag(np.arange(d, 0, -1) * 2.0)
        values, vectors = np.linalg.eigh(cov)
        pc1 = vectors[:, -1]
        path, converged = pca_sim.power_iteration(cov, rng.standard_normal(d), iterations=2000, tolerance=1e-12)
        assert converged
        assert abs(float(path[-1] @ pc1)) == pytest.approx(1.0, abs=1e-10)
        # Every step captures at least as much variance as the one before (C is positive definite).
        captured = [float(v @ cov @ v) for v in path]
        assert all(b >= a - 1e-9 for a, b in zip(captured, captured[1:]))


def test_story_power_iteration_frames_turn_onto_pc1():
    frames = run(make(dataset="cloud_2d", spread_1=3.0, spread_2=1.0, rotation=30.0))
    power = [f for f in frames if f.data["stage"] == "power_pc1"]
    assert len(power) >= 3
    angles = [f.data["candidate_angle_to_pc"] for f in power]
    assert angles[-1] < math.degrees(pca_sim.POWER_TOLERANCE) * 10 + 1e-6
    assert all(b <= a + 1e-9 for a, b in zip(angles, angles[1:]))  # the candidate turns towards PC1
    variances = [f.data["candidate_variance"] for f in power]
    assert variances[-1] == pytest.approx(frames[-1].data["eigenvalues"][0], rel=1e-9)


def test_story_stages_in_order_2d_and_3d():
    for dataset, expected in (("cloud_2d", ["data", "centre", "covariance", "power_pc1", "pc1", "pc2", "project",
                                            "projected"]),
                              ("cloud_3d", ["data", "centre", "covariance", "power_pc1", "pc1", "power_pc2", "pc2",
                                            "pc3", "project", "projected"])):
        stages = [f.data["stage"] for f in run(make(dataset=dataset))]
        order = [s for i, s in enumerate(stages) if i == 0 or s != stages[i - 1]]
        assert order == expected
        assert stages.count("project") == pca_sim.SLIDE_FRAMES - 1


def test_slide_ends_on_the_pc1_line_and_pc12_plane():
    for dataset in ("cloud_2d", "cloud_3d"):
        frames = run(make(dataset=dataset))
        last = frames[-1].data
        components = np.asarray(last["components"])
        moved = np.asarray(last["moved_points"])
        d = moved.shape[1]
        # Nothing is left along the discarded last component; the kept scores are the PCA scores.
        assert np.allclose(moved @ components[d - 1], 0.0, atol=1e-9)
        assert np.allclose(moved @ components[: d - 1].T, np.asarray(last["scores"])[:, : d - 1], atol=1e-9)
        first_slide = next(f for f in frames if f.data["stage"] == "project").data
        assert first_slide["slide"] == pytest.approx(1.0 / pca_sim.SLIDE_FRAMES)


def test_your_axis_never_beats_pc1_and_equals_it_along_pc1():
    simulation = make(dataset="cloud_2d", rotation=-40.0)
    frame = simulation.frame()
    pc1 = np.asarray(frame.data["components"])[0]
    best = frame.data["eigenvalues"][0]
    for angle in np.linspace(-90, 90, 37):
        simulation.set_params({"axis_angle": float(angle)})
        data = simulation.frame().data
        assert data["axis_variance"] <= best + 1e-9
        assert data["axis_error"] >= frame.data["reconstruction_error"][1] - 1e-9
    simulation.set_params({"axis_angle": math.degrees(math.atan2(pc1[1], pc1[0]))})
    data = simulation.frame().data
    assert data["axis_variance"] == pytest.approx(best, rel=1e-9)
    assert data["axis_error"] == pytest.approx(frame.data["reconstruction_error"][1], rel=1e-6)


def test_big_scale_makes_unstandardised_pc1_follow_feature_1_and_standardising_undoes_it():
    plain = make(dataset="cloud_2d", spread_1=1.0, spread_2=1.0, rotation=45.0, noise=0.3, big_scale=True)
    assert abs(plain.frame().data["components"][0][0]) > 0.99
    scaled = make(dataset="cloud_2d", spread_1=1.0, spread_2=1.0, rotation=45.0, noise=0.3, big_scale=True,
                  standardize=True)
    assert abs(abs(scaled.frame().data["components"][0][0]) - math.sqrt(0.5)) < 1e-6


def test_digits_frame_carries_reconstructions_for_the_kept_components():
    simulation = make(dataset="digits", components=5)
    frame = simulation.frame()
    original = np.asarray(frame.data["digits.original"])
    rebuilt = np.asarray(frame.data["digits.reconstruction"])
    assert original.shape == rebuilt.shape == (pca_sim.DIGITS_SHOWN, 64)
    reference = PCA(n_components=5, svd_solver="full").fit(simulation.points)
    expected = reference.inverse_transform(reference.transform(original))
    assert np.allclose(rebuilt, expected, atol=1e-8)
    assert frame.done and frame.data["stage"] == "analysed"


# -- the simulation contract ------------------------------------------------------------------------------
def test_restore_and_timeline_replay_are_exact():
    simulation = make(dataset="cloud_3d")
    frames = run(simulation)
    timeline = Timeline(make(dataset="cloud_3d"), SCENE.resolve({"dataset": "cloud_3d"}), capacity=8, recent=4)
    while not timeline.simulation.done:
        timeline.forward()
    for step in (0, 5, 17, len(frames) - 1):
        again = timeline.seek(step)
        for key, value in frames[step].data.items():
            assert np.array_equal(np.asarray(again.data[key]), np.asarray(value)), key


def test_frames_share_the_static_arrays():
    frames = run(make(dataset="cloud_2d", n_samples=2000))
    assert all(f.data["points"] is frames[0].data["points"] for f in frames)
    assert all(f.data["scores"] is frames[0].data["scores"] for f in frames)


def test_nearly_equal_spreads_say_not_converged():
    frames = run(make(dataset="cloud_2d", spread_1=1.0, spread_2=1.0, rotation=0.0, n_samples=2000, data_seed=1))
    power = [f for f in frames if f.data["stage"] == "power_pc1"]
    assert power[-1].data["candidate_iteration"] == pca_sim.POWER_ITERATIONS
    assert "not converged after 40 iterations" in power[-1].message
    assert all("not converged" not in f.message for f in power[:-1])
    # The story goes on with the exact eigenvector.
    pc1 = next(f for f in frames if f.data["stage"] == "pc1")
    assert pc1.data["components_found"] == 1


def test_table_has_a_row_per_point():
    frame = make(dataset="iris").frame()
    header, rows = SCENE.table(frame)
    assert header[:2] == ["index", "label"] and len(header) == 2 + 4 + 4
    assert len(rows) == 150


# Data size only scales the arrays (2000 points are covered above); 400 keeps 200 examples quick.
FAST = {"n_samples": st.integers(10, 400)}


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values=param_space(PARAMS, FAST, log_scale=True), seed=st.integers(0, 2**31 - 1))
def test_every_parameter_combination_runs_to_the_end_with_finite_numbers(values, seed):
    simulation = Simulation(values, seed=seed)
    frames = run(simulation)
    assert frames[-1].done and len(frames) <= 3 + 2 * (pca_sim.POWER_ITERATIONS + 1) + 3 + pca_sim.SLIDE_FRAMES + 1
    for frame in frames[:: max(1, len(frames) // 6)] + frames[-1:]:
        assert frame.message and "nan" not in frame.message.lower()
        for key, value in frame.data.items():
            if isinstance(value, np.ndarray) and value.dtype.kind == "f":
                assert np.all(np.isfinite(value)), key
            elif isinstance(value, float):
                assert math.isfinite(value), key
    ratio = frames[-1].data["explained_variance_ratio"]
    assert np.all(ratio >= 0) and (ratio.sum() == pytest.approx(1.0) or ratio.sum() == 0.0)
