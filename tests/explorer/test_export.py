"""Export with the real gradient-descent scene: every file is re-opened and checked."""
from __future__ import annotations

import csv
import dataclasses
import json
import time
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from PIL import Image

from explorer import export
from explorer import scene as registry
from explorer.params import ParamError
from explorer.session import Session, frame_to_jsonable

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def session():
    session = Session(registry.get("gradient-descent"), seed=3)
    session.forward(40)
    return session


@pytest.fixture(scope="module")
def view(qapp, session):
    view = export.build_view(session)
    yield view
    view.close()


def distinct_colours(image: Image.Image) -> int:
    return len(image.convert("RGB").getcolors(1 << 24))


def test_build_view_has_a_real_size(view):
    size = view.widget.size()
    assert (size.width(), size.height()) == export.VIEW_SIZE
    assert view.plots, "a view exposes its plots"


def test_png_at_chosen_width_is_not_blank(view, tmp_path):
    from PySide6 import QtGui

    path = tmp_path / "plot.png"
    assert export.export_png(view, path, 900) == path
    with Image.open(path) as image:
        assert image.format == "PNG" and image.width == 900
        assert image.height == round(900 * export.VIEW_SIZE[1] / export.VIEW_SIZE[0])
        assert distinct_colours(image) > 20
    assert QtGui.QImage(str(path)).width() == 900
    assert [p.name for p in tmp_path.iterdir()] == ["plot.png"]  # no temporary file left


def test_png_at_1920_px_is_fast(view, tmp_path):
    export.export_png(view, tmp_path / "warm.png", 1920)
    start = time.perf_counter()
    export.export_png(view, tmp_path / "big.png", 1920)
    elapsed = time.perf_counter() - start
    with Image.open(tmp_path / "big.png") as image:
        assert image.width == 1920
    # Budget 200 ms (DESIGN.md); the bound is loose because the 2 cores are shared with other tests.
    assert elapsed < 1.0, f"PNG export at 1920 px took {elapsed * 1000:.0f} ms"


def test_svg_parses_and_contains_paths(view, tmp_path):
    path = tmp_path / "plot.svg"
    export.export_svg(view, path)
    root = ET.parse(path).getroot()
    assert root.tag == f"{SVG}svg"
    assert len(list(root.iter(f"{SVG}path"))) >= 3
    assert root.get("viewBox") == f"0 0 {export.VIEW_SIZE[0]} {export.VIEW_SIZE[1]}"


def test_csv_reads_back_with_header_and_rows(session, tmp_path):
    path = tmp_path / "frame.csv"
    export.export_csv(session.scene, session.frame, path)
    header, rows = session.scene.table(session.frame)
    with open(path, newline="") as handle:
        read = list(csv.reader(handle))
    assert read[0] == [str(h) for h in header]
    assert len(read) - 1 == len(rows) > 0
    assert all(len(row) == len(header) for row in read)


def test_csv_writes_non_finite_as_empty(tmp_path):
    from explorer.scene import Frame, Scene

    scene = Scene("t", "T", "t", (), simulation=None, view="x:y")
    path = tmp_path / "nan.csv"
    export.export_csv(scene, Frame(0, {"v": np.array([1.5, np.nan, -np.inf]), "s": np.float32("nan")}), path)
    assert path.read_text().splitlines() == ["key,index,value", "v,0,1.5", "v,1,", "v,2,", "s,,"]


def test_gif_is_animated_and_view_is_restored(session, view, tmp_path):
    before = export.render_image(view, 300)
    path = tmp_path / "run.gif"
    export.export_gif(session, view, path, width=200, max_frames=12, fps=20)
    with Image.open(path) as image:
        assert image.format == "GIF" and image.width == 200
        assert 1 < image.n_frames <= 12
        assert image.info.get("loop") == 0
        image.seek(0)
        first = np.asarray(image.convert("RGB"))
        image.seek(image.n_frames - 1)
        last = np.asarray(image.convert("RGB"))
        assert not np.array_equal(first, last), "the animation shows the run moving"
    assert export.render_image(view, 300) == before, "the view is back on the current frame"


def test_gif_steps_subsample_evenly_with_both_ends():
    assert export.gif_steps(0, 5, 240) == [0, 1, 2, 3, 4, 5]
    steps = export.gif_steps(0, 1000, 240)
    assert steps[0] == 0 and steps[-1] == 1000 and len(steps) == 240
    assert max(np.diff(steps)) - min(np.diff(steps)) <= 1
    assert export.gif_steps(7, 7, 3) == [7]


def test_session_json_reloads_to_identical_frame_data(session, tmp_path):
    path = tmp_path / "run.json"
    export.export_session(session, path, include_frame=True)
    document = json.loads(path.read_text())
    assert document["frame"] == frame_to_jsonable(session.frame)
    restored = Session.from_dict(document)
    assert restored.step == session.step == document["step"]
    assert frame_to_jsonable(restored.frame) == document["frame"]
    for key, value in session.frame.data.items():
        np.testing.assert_array_equal(restored.frame.data[key], value)
    plain = tmp_path / "plain.json"
    export.export_session(session, plain)
    assert "frame" not in json.loads(plain.read_text())
    assert Session.load(plain).step == session.step


def test_write_dispatches_on_suffix_and_rejects_unknown(session, view, tmp_path):
    export.write(session, tmp_path / "a.CSV")
    export.write(session, tmp_path / "a.json")
    export.write(session, tmp_path / "a.png", view=view, width=320)
    assert "frame" in json.loads((tmp_path / "a.json").read_text())
    with Image.open(tmp_path / "a.png") as image:
        assert image.width == 320
    with pytest.raises(ParamError, match=r"allowed: \.png, \.svg, \.gif, \.csv, \.json"):
        export.write(session, tmp_path / "a.bmp", view=view)
    with pytest.raises(ParamError, match="allowed: a whole number of pixels from 16 to 8192"):
        export.write(session, tmp_path / "b.png", view=view, width=5)
    with pytest.raises(ParamError, match="does not exist"):
        export.write(session, tmp_path / "missing" / "c.csv")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.CSV", "a.json", "a.png"]


def test_failed_export_leaves_no_file(session, tmp_path):
    def boom(frame):
        raise RuntimeError("disk on fire")

    broken = dataclasses.replace(session.scene, table=boom)
    (tmp_path / "old.csv").write_text("previous content")
    with pytest.raises(RuntimeError, match="disk on fire"):
        export.export_csv(broken, session.frame, tmp_path / "old.csv")
    assert [p.name for p in tmp_path.iterdir()] == ["old.csv"]
    assert (tmp_path / "old.csv").read_text() == "previous content"


def test_cancelled_gif_writes_nothing(session, view, tmp_path):
    seen = []

    def progress(done, total):
        seen.append((done, total))
        return done < 3

    with pytest.raises(export.ExportCancelled):
        export.export_gif(session, view, tmp_path / "x.gif", width=120, max_frames=8, progress=progress)
    assert seen == [(1, 8), (2, 8), (3, 8)]
    assert list(tmp_path.iterdir()) == []
