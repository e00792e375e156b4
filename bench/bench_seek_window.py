"""Seek in the real window after a 100,000-step run: time of seek + show + repaint (what the user
feels when scrubbing), not only the timeline's replay (bench_seek.py).

    DISPLAY=:90 python bench/bench_seek_window.py gradient-descent   (or learning-rate-batch; any
    Qt platform works, e.g. QT_QPA_PLATFORM=offscreen)
"""
import time, random, sys
from PySide6 import QtWidgets, QtCore
app = QtWidgets.QApplication(sys.argv)
from explorer.ui.main_window import MainWindow
w = MainWindow(scene_id=sys.argv[1]); w.resize(1440, 900); w.show()
while w.session is None or w.busy: app.processEvents(); time.sleep(0.01)
w.set_params({"max_steps": 100000} if sys.argv[1]=="gradient-descent" else {"epochs": 500, "batch_size": 1})
while w.session is None or w.busy: app.processEvents(); time.sleep(0.01)
t=time.perf_counter(); w.session.forward(100000); print("ran", w.session.timeline.head, "steps in", round(time.perf_counter()-t,1), "s")
w._refresh(); app.processEvents()
random.seed(1); worst=[]; 
for i in range(30):
    target = random.randint(0, w.session.timeline.head)
    t=time.perf_counter(); w.seek(target); w.view.widget.viewport().repaint(); app.processEvents(); worst.append(time.perf_counter()-t)
worst.sort(); print(sys.argv[1], "seek+show+repaint ms: median", round(worst[15]*1000), "worst", round(worst[-1]*1000), "max replayed", w.session.timeline.max_replay)
w.close()
