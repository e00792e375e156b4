"""Cold start: seconds from a fresh interpreter to the first frame drawn in the main window
(budget < 1 s; scikit-learn must load lazily). Median of several fresh processes.

Run: python bench/bench_startup.py
"""
from __future__ import annotations

import os
import statistics
import subprocess
import sys

CHILD = r"""
import time, os
start = time.perf_counter()
from PySide6 import QtWidgets
app = QtWidgets.QApplication([])
from explorer.ui.main_window import MainWindow
window = MainWindow(scene_id=os.environ["SCENE"])
window.show()
while window.session is None or window.busy:
    app.processEvents()
window.view.widget.viewport().repaint()
elapsed = time.perf_counter() - start
import sys
print(elapsed, "sklearn" in " ".join(sys.modules))
window.close()
"""


def main(runs: int = 5) -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    print(f"{'scene':22} {'first frame s (median)':>23} {'scikit-learn loaded':>20}")
    for scene in ("gradient-descent", "learning-rate-batch", "decision-boundaries"):
        times, loaded = [], False
        for _ in range(runs):
            out = subprocess.run([sys.executable, "-c", CHILD], env={**env, "SCENE": scene},
                                 capture_output=True, text=True, check=True).stdout.split()
            times.append(float(out[0]))
            loaded = out[1] == "True"
        print(f"{scene:22} {statistics.median(times):23.2f} {str(loaded):>20}")


if __name__ == "__main__":
    main()
