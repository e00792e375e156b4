"""Export a session: PNG and SVG (pictures), GIF (the run as an animation), CSV (the frame's
data) and JSON (the session state, optionally with the frame's data).

Used by the GUI and by the headless ``ml-explorer render``. Qt is imported only by the
picture exports, so CSV and JSON work without it. Every writer goes through a temporary file
in the target directory that is renamed into place, so a failure never leaves a half-written file.
"""
from __future__ import annotations

import contextlib
import csv
import json
import math
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator

from explorer.params import ParamError
from explorer.scene import Frame, Scene
from explorer.session import Session, frame_to_jsonable

if TYPE_CHECKING:  # pragma: no cover
    from PySide6 import QtGui
    from explorer.ui.view import SceneView

#: Output suffixes ``write`` understands, with what each one saves.
FORMATS: dict[str, str] = {
    ".png": "picture of the plots",
    ".svg": "vector picture of the plots",
    ".gif": "animation of the run so far",
    ".csv": "data of the current frame",
    ".json": "session (parameters, seed, step) with the current frame's data",
}
#: Formats drawn from the view (the others need no Qt).
PICTURES = (".png", ".svg", ".gif")
DEFAULT_WIDTH = {".png": 1920, ".svg": 1200, ".gif": 640}
MIN_WIDTH, MAX_WIDTH = 16, 8192
VIEW_SIZE = (1200, 800)


# -- checking (before anything is computed or written) -------------------------------------------
def check_output(path: str | Path, width: int | None = None) -> str:
    """Validate an output path (suffix, existing directory) and width; returns the suffix.

    Raises ParamError with a user-facing message naming the allowed values.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        shown = repr(path.suffix) if path.suffix else "no suffix"
        raise ParamError(f"output {str(path)!r}: {shown} is not a known format; "
                         f"allowed: {', '.join(FORMATS)}")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise ParamError(f"output {str(path)!r}: directory {str(parent)!r} does not exist")
    if path.is_dir():
        raise ParamError(f"output {str(path)!r} is a directory; allowed: a file name ending in "
                         f"{', '.join(FORMATS)}")
    if width is not None:
        check_width(width)
    return suffix


def check_width(width: Any) -> int:
    if isinstance(width, bool) or not isinstance(width, int) or not MIN_WIDTH <= width <= MAX_WIDTH:
        raise ParamError(f"width: {width!r} is not allowed; allowed: a whole number of pixels "
                         f"from {MIN_WIDTH} to {MAX_WIDTH}")
    return width


@contextlib.contextmanager
def _atomic(path: str | Path) -> Iterator[str]:
    """Yield a temporary path next to ``path``; rename it to ``path`` only if the body succeeds."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent if str(path.parent) else ".",
                               prefix=f".{path.name}.", suffix=".part")
    os.close(fd)
    try:
        yield tmp
        # mkstemp makes the file private (0600); give it the permissions a normal write would.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


# -- data ----------------------------------------------------------------------------------------
def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, float) and not math.isfinite(value):
        return ""
    if hasattr(value, "item") and getattr(value, "ndim", None) == 0:  # NumPy scalar
        return _cell(value.item())
    return value


def export_csv(scene: Scene, frame: Frame, path: str | Path) -> Path:
    """Write ``scene.table(frame)`` as CSV (header row first); non-finite numbers as empty cells."""
    header, rows = scene.table(frame)
    with _atomic(path) as tmp:
        with open(tmp, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            writer.writerows([_cell(value) for value in row] for row in rows)
    return Path(path)


def session_document(session: Session, include_frame: bool = False) -> dict[str, Any]:
    document = session.to_dict()
    if include_frame:
        frame = session.frame
        document["frame"] = frame_to_jsonable(frame)
        document["frame_step"] = frame.step
        document["message"] = frame.message
        document["done"] = bool(session.done)
    return document


def export_session(session: Session, path: str | Path, include_frame: bool = False) -> Path:
    """Write the session as JSON (``Session.load`` reads it back); with ``include_frame`` also
    the current frame's data under "frame" (arrays as nested lists, non-finite numbers as null)."""
    text = json.dumps(session_document(session, include_frame), indent=2, allow_nan=False)
    with _atomic(path) as tmp:
        Path(tmp).write_text(text + "\n", encoding="utf-8")
    return Path(path)


# -- pictures ------------------------------------------------------------------------------------
_APP = None


def _application():
    """The QApplication, created when missing (headless use)."""
    global _APP
    from PySide6 import QtWidgets

    app = QtWidgets.QApplication.instance()
    if app is None:
        app = _APP = QtWidgets.QApplication([])
    return app


def build_view(session: Session, width: int = VIEW_SIZE[0], height: int = VIEW_SIZE[1]) -> "SceneView":
    """A ready-to-render view of ``session``'s current frame, laid out at width x height.

    The heavy ``prepare`` step runs inline. The widget is shown without appearing on screen so
    that it has a real size (a widget that was never shown has size 0).
    """
    app = _application()
    from PySide6 import QtCore

    view = session.scene.view_class()(session.scene, session.params)
    widget = view.widget
    widget.setAttribute(QtCore.Qt.WidgetAttribute.WA_DontShowOnScreen, True)
    widget.resize(width, height)
    view.apply_prepared(view.prepare(session.params, session.seed))
    view.set_params(session.params)
    view.show(session.frame)
    widget.show()
    app.processEvents()
    return view


def _source_rect(view: "SceneView"):
    """The part of the export scene to draw: what the view's widget shows (deferred drawing done)."""
    from PySide6 import QtCore

    view.settle()
    scene = view.export_scene()
    # Not scene.sceneRect(): without an explicit rect, a QGraphicsScene's only ever grows.
    if view.widget.scene() is scene:
        rect = QtCore.QRectF(view.widget.sceneRect())
    else:
        rect = scene.itemsBoundingRect()
    if rect.width() <= 0 or rect.height() <= 0:
        raise ParamError("nothing to export: the view has no size")
    return rect


@contextlib.contextmanager
def _uncached(scene) -> Iterator[None]:
    """Draw items directly while exporting: a pixmap cached at screen resolution would be blurry."""
    from PySide6 import QtWidgets

    no_cache = QtWidgets.QGraphicsItem.CacheMode.NoCache
    cached = [(item, item.cacheMode()) for item in scene.items() if item.cacheMode() != no_cache]
    for item, _ in cached:
        item.setCacheMode(no_cache)
    try:
        yield
    finally:
        for item, mode in cached:
            item.setCacheMode(mode)


def _paint(view: "SceneView", painter: "QtGui.QPainter", target, source) -> None:
    """Draw ``source`` of the view's scene into ``target`` in pyqtgraph's export mode, as its
    ImageExporter does: scatter symbols are drawn as paths scaled to the output resolution
    (not as cached pixmaps) and hover-only decorations are hidden."""
    from PySide6 import QtCore

    scene = view.export_scene()
    items = [item for item in scene.items() if hasattr(item, "setExportMode")]
    options = {"antialias": True, "background": "#ffffff", "painter": painter,
               "resolutionScale": target.width() / source.width()}
    try:
        for item in items:
            item.setExportMode(True, options)
        with _uncached(scene):
            scene.render(painter, target, source, QtCore.Qt.AspectRatioMode.IgnoreAspectRatio)
    finally:
        for item in items:
            item.setExportMode(False)


def render_image(view: "SceneView", width: int) -> "QtGui.QImage":
    """The whole view (all its plots) drawn into a QImage ``width`` pixels wide, aspect preserved.

    Drawn as on a high-DPI screen (the image's device pixel ratio is the scale), so text, pens,
    symbols and items that ignore transformations (legends, labels) all scale together.
    """
    from PySide6 import QtCore, QtGui

    check_width(width)
    source = _source_rect(view)
    scale = width / source.width()
    height = max(1, round(source.height() * scale))
    image = QtGui.QImage(width, height, QtGui.QImage.Format.Format_ARGB32_Premultiplied)
    image.setDevicePixelRatio(scale)
    image.fill(QtGui.QColor("#ffffff"))
    painter = QtGui.QPainter(image)
    try:
        painter.setRenderHints(QtGui.QPainter.RenderHint.Antialiasing
                               | QtGui.QPainter.RenderHint.TextAntialiasing
                               | QtGui.QPainter.RenderHint.SmoothPixmapTransform)
        with _uncached(view.export_scene()):
            view.export_scene().render(painter, QtCore.QRectF(0, 0, source.width(), source.height()), source,
                                       QtCore.Qt.AspectRatioMode.IgnoreAspectRatio)
    finally:
        painter.end()
    image.setDevicePixelRatio(1.0)
    return image


def export_png(view: "SceneView", path: str | Path, width: int = DEFAULT_WIDTH[".png"]) -> Path:
    """Save the whole view as a PNG ``width`` pixels wide (white background, antialiased)."""
    image = render_image(view, width)
    with _atomic(path) as tmp:
        # Quality 60 = zlib level 3: ~2x faster than Qt's default level for a ~30 % larger file.
        if not image.save(tmp, "PNG", 60):
            raise OSError(f"could not write PNG {path}")
    return Path(path)


def export_svg(view: "SceneView", path: str | Path, width: int | None = None) -> Path:
    """Save the whole view as SVG, drawn with Qt's QSvgGenerator (pyqtgraph's SVG exporter is
    broken on current Qt, DESIGN.md). ``width`` sets the nominal size; default: the view's own."""
    from PySide6 import QtCore, QtGui, QtSvg

    source = _source_rect(view)
    width = check_width(width) if width is not None else max(MIN_WIDTH, round(source.width()))
    height = max(1, round(width * source.height() / source.width()))
    with _atomic(path) as tmp:
        generator = QtSvg.QSvgGenerator()
        generator.setFileName(tmp)
        generator.setSize(QtCore.QSize(width, height))
        # Drawn at the view's own size; the viewBox lets any SVG viewer scale it uniformly.
        logical = QtCore.QRectF(0, 0, source.width(), source.height())
        generator.setViewBox(logical)
        generator.setTitle(view.scene.title)
        generator.setDescription(f"ML Explorer: {view.scene.id}")
        painter = QtGui.QPainter()
        if not painter.begin(generator):
            raise OSError(f"could not write SVG {path}")
        try:
            painter.setRenderHints(QtGui.QPainter.RenderHint.Antialiasing
                                   | QtGui.QPainter.RenderHint.TextAntialiasing)
            painter.fillRect(logical, QtGui.QColor("#ffffff"))
            _paint(view, painter, logical, source)
        finally:
            painter.end()
    return Path(path)


def _to_pillow(image: "QtGui.QImage"):
    from PIL import Image
    from PySide6 import QtGui

    rgb = image.convertToFormat(QtGui.QImage.Format.Format_RGB888)
    stride = rgb.bytesPerLine()
    return Image.frombuffer("RGB", (rgb.width(), rgb.height()), bytes(rgb.constBits()),
                            "raw", "RGB", stride, 1)


def gif_steps(start: int, stop: int, max_frames: int) -> list[int]:
    """Steps start..stop evenly subsampled to at most ``max_frames``, always with both ends."""
    count = stop - start + 1
    if count <= max_frames:
        return list(range(start, stop + 1))
    if max_frames < 2:
        return [stop]
    return sorted({start + round(i * (count - 1) / (max_frames - 1)) for i in range(max_frames)})


class ExportCancelled(Exception):
    """The progress callback asked to stop; nothing was written."""


def export_gif(session: Session, view: "SceneView", path: str | Path, width: int = DEFAULT_WIDTH[".gif"],
               max_frames: int = 240, fps: float = 30,
               progress: Callable[[int, int], Any] | None = None) -> Path:
    """Save the run so far (start to cursor, evenly subsampled to at most ``max_frames``) as a
    looping animated GIF; the last frame is held for a second. The view is put back on the
    session's current frame afterwards.

    ``progress(done, total)`` is called after each frame; returning False cancels
    (ExportCancelled is raised and nothing is written).
    """
    from PIL import Image

    if not 1 <= max_frames <= 10_000:
        raise ParamError(f"max_frames: {max_frames!r} is not allowed; allowed: 1 to 10000")
    if not 0.1 <= fps <= 100:
        raise ParamError(f"fps: {fps!r} is not allowed; allowed: a number from 0.1 to 100")
    timeline = session.timeline
    steps = gif_steps(timeline.start, session.step, max_frames)

    def picture(step: int):
        view.show(timeline.frame_at(step))
        return _to_pillow(render_image(view, width))

    images = []
    try:
        # One palette for all frames (fast, no flicker), built from the first and last frames
        # together so that items which appear only later in the run keep their colours.
        first, last = picture(steps[0]), picture(steps[-1])
        both = Image.new("RGB", (first.width, first.height + last.height))
        both.paste(first, (0, 0))
        both.paste(last, (0, first.height))
        palette = both.quantize(colors=256, method=Image.Quantize.MEDIANCUT)
        for index, step in enumerate(steps):
            frame = first if index == 0 else last if index == len(steps) - 1 else picture(step)
            images.append(frame.quantize(palette=palette, dither=Image.Dither.NONE))
            if progress is not None and progress(index + 1, len(steps)) is False:
                raise ExportCancelled(f"GIF export cancelled after {index + 1} of {len(steps)} frames")
    finally:
        view.show(session.frame)
    frame_ms = max(20, round(1000 / fps))
    durations = [frame_ms] * len(images)
    durations[-1] = max(frame_ms, 1000)
    with _atomic(path) as tmp:
        images[0].save(tmp, format="GIF", save_all=True, append_images=images[1:], loop=0,
                       duration=durations if len(images) > 1 else durations[0], optimize=False)
    return Path(path)


# -- one entry point -----------------------------------------------------------------------------
def write(session: Session, path: str | Path, view: "SceneView | None" = None, width: int | None = None,
          include_frame: bool = True, max_frames: int = 240, fps: float = 30,
          progress: Callable[[int, int], Any] | None = None) -> Path:
    """Write ``session`` to ``path`` in the format its suffix names (see FORMATS).

    Raises ParamError (naming the allowed values) for an unknown suffix or a bad width, before
    anything is written. Pictures use ``view`` when given, else a view built just for this.
    """
    suffix = check_output(path, width)
    if suffix == ".csv":
        return export_csv(session.scene, session.frame, path)
    if suffix == ".json":
        return export_session(session, path, include_frame=include_frame)
    width = width if width is not None else DEFAULT_WIDTH[suffix]
    own = view is None
    if own:
        view = build_view(session)
    try:
        if suffix == ".png":
            return export_png(view, path, width)
        if suffix == ".svg":
            return export_svg(view, path, width)
        return export_gif(session, view, path, width, max_frames=max_frames, fps=fps, progress=progress)
    finally:
        if own:
            view.close()
