"""Regularization and the bias–variance trade-off: polynomial regression whose degree and penalty the
user controls, refitted on fresh training draws (a bundle of fits, bias² / variance / noise), with
coefficients, the regularization path, error curves, learning curves and early stopping."""
from __future__ import annotations

from explorer.params import Choice, Float, Int
from explorer.scene import Preset, Scene
from scenes.regularization.sim import CURVE_LABELS, CURVES, MAX_DEGREE, MAX_RESAMPLES, MODE_LABELS, MODES, \
    PENALTIES, PENALTY_LABELS, Simulation

_PENALISED = {"penalty": ("ridge", "lasso", "elasticnet")}

PARAMS = (
    # Data
    Choice("curve", "sine", "The true curve the data are drawn from (training and test points alike).",
           choices=CURVES, labels=CURVE_LABELS, label="True curve", group="Data"),
    Int("n_train", 30, "How many training points each draw has (x uniform on [-1, 1]).", minimum=5, maximum=200,
        log=True, label="Training points", group="Data"),
    Float("noise", 0.3, "Standard deviation of the gaussian noise added to the true curve.", minimum=0.0,
          maximum=1.0, decimals=2, label="Noise", group="Data"),
    # Model
    Int("degree", 3, f"Degree of the polynomial: features x, x², …, x^degree, each standardised (1 to {MAX_DEGREE}).",
        minimum=1, maximum=MAX_DEGREE, label="Degree", group="Model"),
    Choice("penalty", "ridge", "No penalty (least squares), Ridge (sum of squared coefficients), Lasso (sum of "
           "absolute coefficients) or ElasticNet (both); the intercept is never penalised.",
           choices=PENALTIES, labels=PENALTY_LABELS, label="Penalty", group="Model"),
    Float("alpha", 1e-3, "Penalty strength as scikit-learn's Ridge, Lasso and ElasticNet define it (Ridge adds "
          "alpha·‖w‖² to the summed squared error, Lasso alpha·‖w‖₁ to half the mean squared error).",
          minimum=1e-6, maximum=1e3, log=True, decimals=6, label="Alpha", group="Model", show_if=_PENALISED),
    Float("l1_ratio", 0.5, "ElasticNet's share of L1 in the penalty (1 is the Lasso).", minimum=0.05, maximum=1.0,
          decimals=2, label="L1 ratio", group="Model", show_if={"penalty": ("elasticnet",)}),
    # Run
    Choice("mode", "resample", f"What a step does: refit on a fresh training draw (up to {MAX_RESAMPLES}; the "
           "bundle of fits and the bias² / variance estimate grow), or one epoch of gradient descent with early "
           "stopping.", choices=MODES, labels=MODE_LABELS, label="Step does", group="Run"),
    Int("patience", 100, "Early stopping: epochs without a better validation loss before training stops.",
        minimum=1, maximum=1000, log=True, label="Patience", group="Run", show_if={"mode": ("early_stopping",)}),
    Int("max_epochs", 2000, "Early stopping: the most epochs gradient descent runs.", minimum=10, maximum=3000,
        log=True, label="Max epochs", group="Run", show_if={"mode": ("early_stopping",)}),
)

PRESETS = (
    Preset("Underfit: a straight line", {"curve": "sine", "degree": 1, "penalty": "none", "n_train": 30,
                                         "noise": 0.3},
           "A degree-1 polynomial cannot bend with the sine: train and test errors are both high (bias), and the "
           "refits on fresh data barely move (low variance)."),
    Preset("Overfit: degree 15, no penalty", {"curve": "sine", "degree": 15, "penalty": "none", "n_train": 30,
                                              "noise": 0.3},
           "Fifteen free coefficients for thirty points: the curve threads the training points, the test error is "
           "large and every fresh draw gives a wildly different curve (variance)."),
    Preset("Cured by Ridge", {"curve": "sine", "degree": 15, "penalty": "ridge", "alpha": 1.0, "n_train": 30,
                              "noise": 0.3},
           "The same degree 15 with a Ridge penalty: every coefficient shrinks, the bundle tightens and the test "
           "error drops to near the noise."),
    Preset("Sparse by Lasso", {"curve": "sine", "degree": 15, "penalty": "lasso", "alpha": 0.01, "n_train": 30,
                               "noise": 0.3},
           "The Lasso sets most coefficients exactly to zero: a sparse polynomial that uses only a few powers of x."),
    Preset("The plateau curve", {"curve": "saturating", "degree": 6, "penalty": "ridge", "alpha": 0.01,
                                 "n_train": 40, "noise": 0.15},
           "A curve that rises and then plateaus (bike rentals against temperature): low degrees miss the bend, "
           "high ones wiggle on the plateau; the error-vs-degree curve finds the middle."),
    Preset("Early stopping", {"curve": "sine", "degree": 15, "penalty": "none", "mode": "early_stopping",
                              "n_train": 20, "noise": 0.3, "patience": 200, "max_epochs": 3000},
           "Gradient descent on the overfitting polynomial: the validation loss falls, then rises while the "
           "training loss keeps falling; stopping at the best epoch regularises without a penalty."),
)

EXPLAINER = """\
The same noisy points, a polynomial whose **degree** and **penalty** you choose, and the errors that tell
the story. Too low a degree **underfits** (high bias: train and test error both high); too high a degree
without a penalty **overfits** (high variance: a tiny training error, a large test error, and every fresh
training draw gives a different curve).

* **Step** refits on a freshly drawn training set: the fits form a faint **bundle**, and the bar splits the
  expected test error into **bias²** (how far the average fit is from the truth), **variance** (how much the
  fits scatter) and **noise** (what no model can remove).
* **Ridge** shrinks every coefficient, **Lasso** sets many exactly to zero; the **path** shows every
  coefficient against alpha.
* The **error curves** against degree and alpha are U-shaped for test and cross-validation error: the
  bias–variance trade-off (○ lowest cross-validation error, ☆ lowest test error, dashed line the current
  setting). **Learning curves** show how more data closes the gap.
* **Early stopping** trains the same polynomial by gradient descent and keeps the epoch with the best
  validation loss.
"""

SCENE = Scene(
    id="regularization",
    title="Regularization and bias–variance",
    summary="Polynomial regression under- and overfitting, cured by Ridge, Lasso, ElasticNet or early stopping: "
            "coefficients, paths, error curves, a bundle of refits and bias² + variance + noise.",
    params=PARAMS,
    simulation=Simulation,
    view="scenes.regularization.view:RegularizationView",
    presets=PRESETS,
    explainer=EXPLAINER,
    coarse_step="Step ×10",
)
