"""Hypothesis over the declared parameter space: every frame (start and after a step) is finite and JSON-able,
and an undefined metric is a message, never NaN or an exception."""
import json

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from explorer.session import frame_to_jsonable
from scenes.evaluation import SCENE
from scenes.evaluation.sim import Simulation
from tests.strategies import param_space

# Narrowed to keep each example cheap (model fits on <= 80 points, <= 9 grid cells).
SPACE = param_space(SCENE.params, {"n_samples": st.integers(40, 80), "grid_size": st.integers(2, 3)},
                    log_scale=True)


@settings(max_examples=200, deadline=None)
@given(params=SPACE, seed=st.integers(0, 3))
def test_every_frame_is_finite_and_messages_never_say_nan(params, seed):
    sim = Simulation(SCENE.resolve(params), seed)
    for frame in (sim.frame(), sim.step()):
        for value in frame.data.values():
            array = np.asarray(value)
            if array.dtype.kind in "fiub":
                assert np.all(np.isfinite(array.astype(float)))
        json.dumps(frame_to_jsonable(frame), allow_nan=False)
        assert "nan" not in frame.message.lower()
    if params["lesson"] == "threshold":
        data, message = sim.threshold_data(1.01, params["fn_cost"])
        assert "undefined (no positive predictions)" in message and "precision" not in data
