"""The evaluation scene in the real window: dragging the threshold moves the confusion matrix and the
ROC point consistently; cross-validation folds step; a small grid search fills every cell."""
import json

import numpy as np
import pytest

from explorer import cli
from scenes.evaluation import metrics as m


@pytest.fixture
def window(open_window, qtbot):
    win = open_window("evaluation", size=(1280, 800))
    qtbot.waitUntil(lambda: win.view.frame is not None, timeout=20000)
    return win


def test_threshold_line_drag_updates_confusion_and_roc_point(window, qtbot):
    view = window.view
    cells = lambda: [text.textItem.toPlainText() for text in view.cell_texts]  # noqa: E731
    before_cells = cells()
    before = view.roc_point.getData()
    view.threshold_line.setValue(0.8)
    view.threshold_line.sigPositionChangeFinished.emit(view.threshold_line)
    qtbot.waitUntil(lambda: abs(window.params["threshold"] - 0.8) < 1e-9, timeout=5000)
    after = view.roc_point.getData()
    assert cells() != before_cells
    d = view.frame.data
    t = m.ThresholdTable.build(d["scores"], d["labels"])
    c = t.confusion(0.8)
    assert after[0][0] == pytest.approx(c["fp"] / t.n_negative) and after[1][0] == pytest.approx(c["tp"] / t.n_positive)
    assert (after[0][0], after[1][0]) != (before[0][0], before[1][0])
    assert cells() == [f"TN {c['tn']}", f"FP {c['fp']}", f"FN {c['fn']}", f"TP {c['tp']}"]


def test_undefined_precision_shows_a_message(window, qtbot):
    window.set_params({"threshold": 1.0, "separation": 0.0})
    qtbot.waitUntil(lambda: window.session is not None and not window.busy, timeout=20000)
    qtbot.waitUntil(lambda: "undefined (no positive predictions)" in window.view.text.toPlainText(), timeout=10000)


def test_cross_validation_steps_fold_by_fold(window, qtbot):
    window.set_params({"lesson": "cross_validation", "k_folds": 4, "n_samples": 80})
    qtbot.waitUntil(lambda: not window.busy and "fold_layout" in window.view.frame.data, timeout=20000)
    for k in range(1, 5):
        window.step()
        assert len(window.view.points[0].getData()[0]) == k
    assert window.session.done and "±" in window.view.frame.message


def test_small_grid_search_fills_every_cell(window, qtbot):
    window.set_params({"lesson": "grid_search", "grid_size": 3, "k_folds": 2, "n_samples": 80})
    qtbot.waitUntil(lambda: not window.busy and "grid_done" in window.view.frame.data, timeout=20000)
    for _ in range(9):
        window.step()
    assert np.asarray(window.view.frame.data["grid_done"]).all()
    assert len(window.view.best_marker.getData()[0]) == 1


def test_render_json_carries_scores_labels_threshold_and_metrics(tmp_path):
    out = tmp_path / "run.json"
    assert cli.main(["render", "evaluation", "--set", "threshold=0.4", "--out", str(out)]) == 0
    text = out.read_text()
    assert "NaN" not in text
    data = json.loads(text)
    blob = json.dumps(data)
    for key in ("scores", "labels", "threshold", "accuracy", "precision", "recall", "specificity", "f1", "auc",
                "average_precision"):
        assert f'"{key}"' in blob
