"""Learning rate and batch size: why they change how mini-batch SGD trains."""
from __future__ import annotations

from explorer.params import Bool, Choice, Float, Int
from explorer.scene import Preset, Scene

from scenes.learning_rate_batch.sim import COMPARE, MODELS, SCHEDULES, Simulation

_RUN_BATCHES = (1, 8, 32, 5000)
_RUN_RATES = (0.01, 0.05, 0.3, 1.5)

PARAMS = (
    Choice("model", "linear", "Linear regression y = w·x + b (loss ½·mean squared error), logistic "
           "regression on two classes (loss: mean cross-entropy + ½·0.001·w², a tiny ridge that keeps the "
           "minimum finite when the classes separate), or a one-parameter double well with a shallow and "
           "a deep minimum.", choices=MODELS,
           labels=("Linear regression", "Logistic regression", "Double well (non-convex)"), group="Data"),
    Int("n_samples", 200, "Number of generated training samples (one epoch visits each once).",
        minimum=50, maximum=5000, log=True, label="Samples", group="Data"),
    Float("noise", 0.5, "Noise in the data: label noise for regression, class overlap for logistic, "
          "per-sample tilt of the double well.", minimum=0.0, maximum=2.0, decimals=2, group="Data"),
    Int("data_seed", 0, "Seed of the generated data set (the session seed drives the batch order).",
        minimum=0, maximum=9999, group="Data"),
    Choice("compare", "batch_size", "Which setting differs between the runs: the batch size or the "
           "learning rate.", choices=COMPARE, labels=("Batch size", "Learning rate"), group="Runs"),
    Int("runs", 4, "How many runs train side by side, each with its own colour.", minimum=1, maximum=4,
        group="Runs"),
    Float("learning_rate", 0.1, "Learning rate shared by all runs when the batch size is compared.",
          minimum=1e-4, maximum=10.0, log=True, decimals=4, live=True, group="Runs",
          show_if={"compare": ("batch_size",)}),
    Int("batch_size", 16, "Batch size shared by all runs when the learning rate is compared "
        "(larger than n means the full batch).", minimum=1, maximum=5000, log=True, group="Runs",
        show_if={"compare": ("learning_rate",)}),
    *(Int(f"run{i}_batch_size", _RUN_BATCHES[i - 1], f"Batch size of run {i} when comparing batch sizes "
          "(clamped to the number of samples).", minimum=1, maximum=5000, log=True, group="Runs",
          label=f"Run {i} batch size", show_if={"compare": ("batch_size",), "runs": tuple(range(i, 5))})
      for i in range(1, 5)),
    *(Float(f"run{i}_learning_rate", _RUN_RATES[i - 1], f"Learning rate of run {i} when comparing "
            "learning rates.", minimum=1e-4, maximum=10.0, log=True, decimals=4, live=True, group="Runs",
            label=f"Run {i} learning rate",
            show_if={"compare": ("learning_rate",), "runs": tuple(range(i, 5))})
      for i in range(1, 5)),
    Int("epochs", 30, "How many passes over the data each run makes before it stops.", minimum=1,
        maximum=500, log=True, group="Training"),
    Bool("shuffle", True, "Draw a new random sample order at the start of every epoch.", live=True,
         group="Training"),
    Choice("schedule", "constant", "How the learning rate changes from epoch to epoch.", choices=SCHEDULES,
           labels=("Constant", "Step decay", "Exponential", "Cosine"), live=True, group="Training"),
    Int("warmup_epochs", 0, "Epochs of linear warm-up from a small learning rate to the base rate.",
        minimum=0, maximum=20, live=True, group="Training"),
    Float("decay", 0.5, "Factor of step decay (per step) and of exponential decay (per epoch).",
          minimum=0.05, maximum=1.0, decimals=2, live=True, group="Training",
          show_if={"schedule": ("step", "exponential")}),
    Int("step_every", 10, "Epochs between two drops of the step-decay schedule.", minimum=1, maximum=100,
        live=True, group="Training", show_if={"schedule": ("step",)}),
    Float("init_w", -2.5, "Starting value of w (the double well's only parameter).", minimum=-4.0,
          maximum=4.0, decimals=2, group="Training"),
    Float("init_b", 2.5, "Starting value of b (unused by the double well).", minimum=-4.0, maximum=4.0,
          decimals=2, group="Training", show_if={"model": ("linear", "logistic")}),
)

PRESETS = (
    Preset("Learning rate too small", {"compare": "learning_rate", "runs": 1, "run1_learning_rate": 0.002,
                                       "batch_size": 5000, "model": "linear"},
           "Full-batch steps so small that 30 epochs barely leave the start."),
    Preset("Learning rate good", {"compare": "learning_rate", "runs": 1, "run1_learning_rate": 0.5,
                                  "batch_size": 5000, "model": "linear"},
           "Full-batch descent that reaches the minimum in a few epochs."),
    Preset("Learning rate too large", {"compare": "learning_rate", "runs": 1, "run1_learning_rate": 1.2,
                                       "batch_size": 5000, "model": "linear"},
           "Beyond 2 / (largest curvature) every step overshoots further: the run diverges."),
    Preset("Spread of learning rates", {"compare": "learning_rate", "runs": 4, "batch_size": 16,
                                        "model": "linear"},
           "Four learning rates on a log scale at batch size 16."),
    Preset("Batch 1 vs full batch", {"compare": "batch_size", "runs": 2, "run1_batch_size": 1,
                                     "run2_batch_size": 5000, "learning_rate": 0.05, "model": "linear"},
           "Per epoch, batch 1 makes n noisy steps, the full batch one exact step."),
    Preset("Local-minimum escape", {"model": "double_well", "compare": "batch_size", "runs": 4,
                                    "run1_batch_size": 1, "run2_batch_size": 4, "run3_batch_size": 8,
                                    "run4_batch_size": 5000, "learning_rate": 0.1, "noise": 1.0,
                                    "init_w": -1.3, "epochs": 30},
           "Small noisy batches hop out of the shallow basin; full-batch descent stays in it."),
)

EXPLAINER = """\
Stochastic gradient descent updates the parameters with the gradient of a small random **mini-batch**
instead of the whole data set. The logistic loss includes a tiny ridge, ½·0.001·w²: the loss shown is
exactly the one minimised. Each run here trains the same model from the same start; they differ
only in batch size or learning rate.

* The **learning rate** sets the step length. Too small and training crawls; too large and each step
  overshoots the valley — beyond 2 / (largest curvature) full-batch descent diverges. A run that
  diverges (its loss passes 1000 × max(start loss, 1)) stops with "diverged at epoch n". The range
  test (bottom) runs every rate from 1e-5 to 10 at a constant rate over the same batches, as long as
  the runs (at most 1,000 updates), and marks the first rate that diverges by the same rule.
* The **batch size** sets the noise: the mini-batch gradient is unbiased, and its variance falls like
  1 / batch size (times (N − B) / (N − 1), because batches are drawn without replacement). Small batches
  take many cheap, noisy steps per epoch and wander around the minimum; the full batch takes one exact
  step per epoch.
* That noise can help: on the **double well**, small batches can hop out of the shallow basin into the
  deeper one, while full-batch descent stays where it started. The bar chart shows, as training goes,
  the share of 200 extra runs (other batch orders; fewer above 1,000 samples) that are in the deep
  basin; they follow the same learning rate, schedule and batch size as their run.
* A **schedule** shrinks the learning rate over the epochs, which calms the noisy wandering at the end.
"""

SCENE = Scene(
    id="learning-rate-batch",
    title="Learning rate and batch size",
    summary="Mini-batch SGD runs side by side: how step size and batch noise change training.",
    params=PARAMS,
    simulation=Simulation,
    view="scenes.learning_rate_batch.view:LearningRateBatchView",
    presets=PRESETS,
    explainer=EXPLAINER,
    coarse_step="Step epoch",
)
