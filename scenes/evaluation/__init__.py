"""Model evaluation: a threshold linked to every binary metric, the ROC and PR curves; multi-class and
regression metrics; cross-validation fold by fold; grid search cell by cell."""
from __future__ import annotations

from explorer.params import Choice, Float, Int
from explorer.scene import Preset, Scene
from scenes.evaluation.sim import CLASSIFIER_LABELS, CLASSIFIERS, CV_LABELS, CV_METHODS, DATASET_LABELS, \
    DATASETS, LESSON_LABELS, LESSONS, REGRESSOR_LABELS, REGRESSORS, Simulation, table

_THRESHOLD = {"lesson": ("threshold",)}
_SYNTHETIC = {"lesson": ("threshold",), "score_source": ("synthetic",)}
_DATA = {"lesson": ("threshold", "cross_validation", "grid_search")}

PARAMS = (
    Choice("lesson", "threshold", "Which lesson the scene shows: the threshold with every binary metric and curve, "
           "multi-class metrics on digits, regression metrics, cross-validation fold by fold, or a grid search.",
           choices=LESSONS, labels=LESSON_LABELS, group="Lesson"),
    Choice("score_source", "synthetic", "Where the scores come from: two synthetic score distributions, or a "
           "classifier trained on half of a built-in data set and scored on the other half.",
           choices=("synthetic", "model"), labels=("Synthetic distributions", "Trained model"),
           label="Scores", group="Data", show_if=_THRESHOLD),
    Float("separation", 1.5, "Distance between the means of the positive and negative raw scores (in standard "
          "deviations): 0 is a useless model.", minimum=0.0, maximum=5.0, decimals=2, group="Data", show_if=_SYNTHETIC),
    Float("positive_fraction", 0.5, "Share of positive samples (class imbalance); at least one of each class.",
          minimum=0.01, maximum=0.99, decimals=2, label="Positive fraction", group="Data", show_if=_SYNTHETIC),
    Choice("dataset", "moons", "Built-in scikit-learn data (nothing is downloaded).", choices=DATASETS,
           labels=DATASET_LABELS, label="Data set", group="Data",
           show_if=None),
    Int("n_samples", 300, "How many samples to generate or draw (grid search uses at most 300).", minimum=40,
        maximum=600, label="Samples", group="Data", show_if={"lesson": LESSONS[:1] + LESSONS[2:]}),
    Float("noise", 0.3, "Noise of the generated data (moons and circles: point jitter; regression: noise of y).",
          minimum=0.0, maximum=1.0, decimals=2, group="Data"),
    Int("n_features", 1, "Regression: number of input features; only the first matters, the rest are noise that "
        "adjusted R² penalises.", minimum=1, maximum=20, label="Features", group="Data",
        show_if={"lesson": ("regression",)}),
    Choice("classifier", "logistic", "The model whose scores, folds or digits predictions are evaluated "
           "(SVM scores are the sigmoid of its decision function, not probabilities).", choices=CLASSIFIERS,
           labels=CLASSIFIER_LABELS, group="Model",
           show_if={"lesson": ("threshold", "multiclass", "cross_validation")}),
    Choice("regressor", "linear", "The regression model fitted on half of the data and scored on the other half.",
           choices=REGRESSORS, labels=REGRESSOR_LABELS, group="Model", show_if={"lesson": ("regression",)}),
    Float("threshold", 0.5, "Samples whose score is at least this are predicted positive; drag the line on the "
          "histogram too.", minimum=0.0, maximum=1.0, decimals=3, live=True, group="Threshold", show_if=_THRESHOLD),
    Float("fn_cost", 1.0, "Cost of one false negative relative to one false positive; the cheapest threshold is "
          "marked.", minimum=0.1, maximum=100.0, log=True, decimals=2, live=True, label="FN cost / FP cost",
          group="Threshold", show_if=_THRESHOLD),
    Choice("cv_method", "kfold", "How the data are split into folds (scikit-learn's splitters).", choices=CV_METHODS,
           labels=CV_LABELS, label="Splitter", group="Validation", show_if={"lesson": ("cross_validation",)}),
    Int("k_folds", 5, "Number of folds K (leave-one-out uses one fold per sample).", minimum=2, maximum=10,
        label="Folds K", group="Validation", show_if={"lesson": ("cross_validation", "grid_search")}),
    Int("grid_size", 5, "Number of C values and of gamma values on log grids (C 0.01-1000, gamma 0.001-10).",
        minimum=2, maximum=8, label="Grid size", group="Validation", show_if={"lesson": ("grid_search",)}),
)

PRESETS = (
    Preset("Threshold and curves", {"lesson": "threshold", "score_source": "model", "dataset": "moons",
                                    "classifier": "svm"},
           "Drag the threshold: the confusion matrix, every metric and the points on the ROC and PR curves move."),
    Preset("Rare positives: PR against ROC", {"lesson": "threshold", "positive_fraction": 0.05, "separation": 2.0,
                                              "n_samples": 600},
           "With 5% positives the always-negative model scores 95% accuracy and the ROC looks good; "
           "precision-recall shows how many false alarms each hit costs."),
    Preset("Costly misses", {"lesson": "threshold", "fn_cost": 10.0, "separation": 1.5},
           "A missed positive costs ten false alarms: the cheapest threshold moves down."),
    Preset("Multi-class digits", {"lesson": "multiclass", "classifier": "logistic"},
           "The confusion matrix of digits: per-class precision and recall, macro and micro averages."),
    Preset("Regression metrics", {"lesson": "regression", "regressor": "polynomial", "n_features": 5},
           "MSE, RMSE, MAE, R² and adjusted R² with the residuals."),
    Preset("Cross-validation folds", {"lesson": "cross_validation", "cv_method": "stratified", "k_folds": 5},
           "Each step fits one fold: its validation part is highlighted and its score added."),
    Preset("Grid search SVM C x gamma", {"lesson": "grid_search", "grid_size": 5, "k_folds": 3},
           "Each step computes one cell's cross-validated accuracy; the best cell is marked."),
)

SCENE = Scene(
    id="evaluation",
    title="Model evaluation",
    summary="One threshold linked to every metric, ROC and PR curve; multi-class and regression metrics; "
            "cross-validation fold by fold and grid search cell by cell.",
    params=PARAMS,
    simulation=Simulation,
    view="scenes.evaluation.view:EvaluationView",
    presets=PRESETS,
    explainer="A **threshold** turns scores into predictions: scores at or above it are positive. Every metric, "
              "the ROC and the precision-recall curve follow it. **Cross-validation** steps one fold at a time; "
              "**grid search** one cell at a time.",
    table=table,
)
