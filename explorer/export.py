"""Export a session: PNG and SVG (pictures), GIF and MP4 (the run as an animation), CSV (the
frame's data) and JSON (the session state, optionally with the frame's data).

Used by the GUI and by the headless ``ml-explorer render``. Qt is imported only by the
picture exports, so CSV and JSON work without it. Every writer goes through a temporary file
in the target directory that is renamed into place, so a failure never leaves a half-written file;
``write_all`` renames several outputs only once all of them were written (all or nothing).
Animations are streamed frame by frame to the encoder: memory does not grow with the frame count.
"""
from __future__ import annotations

import contextlib
import contextvars
import csv
import json
import math
import os
import re
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
    ".mp4": "video of the run so far (H.264)",
    ".csv": "data of the current frame",
    ".json": "session (parameters, seed, step) with the current frame's data",
}
#: Formats drawn from the view (the others need no Qt).
PICTURES = (".png", ".svg", ".gif", ".mp4")
#: Formats that animate the run from its start to the current frame.
ANIMATIONS = (".gif", ".mp4")
DEFAULT_WIDTH = {".png": 1920, ".svg": 1200, ".gif": 640, ".mp4": 1280}
MIN_WIDTH, MAX_WIDTH = 16, 8192
VIEW_SIZE = (1200, 800)


# -- checking (before anything is computed or written) -------------------------------------------
class OutputError(ParamError):
    """An output cannot be written; the message names the path the user gave (never a temporary)."""


#: Peak bytes per output pixel while one frame is drawn and encoded (QImage ARGB, RGB copies,
#: Pillow's 4-byte RGB, the palette image and the frame-difference arrays): an 8192 px GIF
#: measured 1.44 GB peak RSS, about 28 bytes per pixel over the interpreter's own.
BYTES_PER_PIXEL = 32


def _available_memory() -> int | None:
    """Bytes of memory available to a new allocation (Linux MemAvailable), None if unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def memory_needed(width: int) -> int:
    """Estimated peak bytes to draw and encode one picture ``width`` pixels wide (view aspect)."""
    height = max(1, round(width * VIEW_SIZE[1] / VIEW_SIZE[0]))
    return width * height * BYTES_PER_PIXEL


def _name_max(directory: Path) -> int:
    try:
        return os.pathconf(directory, "PC_NAME_MAX")
    except (OSError, ValueError, AttributeError):
        return 255


def check_output(path: str | Path, width: int | None = None) -> str:
    """Validate an output path (suffix, writable directory, file name length, not a read-only
    file), the width and whether a picture that wide fits in memory; returns the suffix.

    Raises ParamError with a user-facing message naming the path and the allowed values.
    """
    path = Path(path)
    shown = str(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        what = repr(path.suffix) if path.suffix else "no suffix"
        raise ParamError(f"output {shown!r}: {what} is not a known format; "
                         f"allowed: {', '.join(FORMATS)}")
    parent = path.parent if str(path.parent) else Path(".")
    try:
        if not parent.is_dir():
            problem = "is a file, not a directory" if parent.exists() else "does not exist"
            raise OutputError(f"output {shown!r}: {str(parent)!r} {problem}")
        length, limit = len(os.fsencode(path.name)), _name_max(parent)
        if length > limit:
            raise OutputError(f"output {shown!r}: the file name is {length} bytes long; "
                              f"allowed: at most {limit}")
        if path.is_dir():
            raise OutputError(f"output {shown!r} is a directory; allowed: a file name ending in "
                              f"{', '.join(FORMATS)}")
        if path.is_file() and not path.stat().st_mode & 0o222:
            raise OutputError(f"output {shown!r} exists and is read-only; nothing was replaced "
                              "(make it writable or choose another name)")
        if not os.access(parent, os.W_OK | os.X_OK):
            raise OutputError(f"output {shown!r}: directory {str(parent)!r} is not writable")
    except OSError as error:  # e.g. a path component that is too long or a loop of links
        raise OutputError(f"output {shown!r}: {error.strerror or error}") from None
    if width is not None:
        check_width(width)
    if suffix in PICTURES:
        check_memory(shown, width if width is not None else DEFAULT_WIDTH[suffix])
    return suffix


def check_memory(shown: str, width: int) -> None:
    """Refuse (before anything is computed) a picture too large for the memory available."""
    need, available = memory_needed(width), _available_memory()
    if available is None or need <= 0.8 * available:
        return
    fits = max(MIN_WIDTH, int(math.sqrt(0.8 * available / BYTES_PER_PIXEL * VIEW_SIZE[0] / VIEW_SIZE[1])))
    raise OutputError(f"output {shown!r}: drawing it {width} px wide needs about {need / 2**30:.1f} GiB "
                      f"of memory and {available / 2**30:.1f} GiB are available; allowed: a width up to "
                      f"about {fits} px")


def check_width(width: Any) -> int:
    if isinstance(width, bool) or not isinstance(width, int) or not MIN_WIDTH <= width <= MAX_WIDTH:
        raise ParamError(f"width: {width!r} is not allowed; allowed: a whole number of pixels "
                         f"from {MIN_WIDTH} to {MAX_WIDTH}")
    return width


#: Inside ``all_or_nothing``: (temporary, target) pairs written but not yet renamed.
_STAGED: contextvars.ContextVar[list[tuple[str, Path]] | None] = contextvars.ContextVar("staged", default=None)


def _failure(path: Path, error: OSError) -> OutputError:
    reason = error.strerror or str(error) or type(error).__name__
    return OutputError(f"output {str(path)!r}: cannot write it: {reason}")


def _publish(tmp: str, path: Path) -> None:
    """Rename a finished temporary file onto ``path`` with the permissions a normal write gives."""
    try:
        mode = path.stat().st_mode & 0o7777 if path.is_file() else None
    except OSError:
        mode = None
    if mode is None:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    try:
        os.chmod(tmp, mode)  # mkstemp makes the file private (0600)
        os.replace(tmp, path)
    except OSError as error:
        raise _failure(path, error) from None


@contextlib.contextmanager
def _atomic(path: str | Path) -> Iterator[str]:
    """Yield a temporary path next to ``path``; rename it to ``path`` only if the body succeeds
    (inside ``all_or_nothing``: only once every output of the block succeeded). Errors name
    ``path``, not the temporary file."""
    path = Path(path)
    try:
        # A short prefix: a long but valid name must not fail because its temporary is longer.
        fd, tmp = tempfile.mkstemp(dir=path.parent if str(path.parent) else ".",
                                   prefix=f".{path.name[:40]}.", suffix=".part")
        os.close(fd)
    except OSError as error:
        raise _failure(path, error) from None
    staged = _STAGED.get()
    try:
        try:
            yield tmp
        except OSError as error:
            raise _failure(path, error) from None
        if staged is None:
            _publish(tmp, path)
        else:
            staged.append((tmp, path))
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def all_or_nothing() -> Iterator[None]:
    """Writes inside the block go to temporary files that are renamed into place only when the
    whole block succeeded; on any failure every temporary file is removed and no output changes."""
    staged: list[tuple[str, Path]] = []
    token = _STAGED.set(staged)
    try:
        yield
    except BaseException:
        for tmp, _ in staged:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        raise
    finally:
        _STAGED.reset(token)
    # Every output is complete; renames within one directory do not fail for lack of space.
    for index, (tmp, path) in enumerate(staged):
        try:
            _publish(tmp, path)
        except OutputError:
            for rest, _ in staged[index:]:
                with contextlib.suppress(OSError):
                    os.unlink(rest)
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
        # Qt's SVG 1.1 mode has clip paths but writes stale ones (axes clipped to a title's box,
        # Qt 6.11): stay with SVG Tiny and add the plots' clips afterwards (_scaled_strokes).
        generator = QtSvg.QSvgGenerator()
        # pyqtgraph records axes as QPictures, which scale by their DPI over the device's:
        # the generator's default 72 dpi drew every axis at 72/96 of its size.
        generator.setResolution(QtGui.QPicture().logicalDpiX())
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
        _scaled_strokes(tmp, _plot_clips(view, source))
    return Path(path)


def _plot_clips(view: "SceneView", source) -> list[tuple[tuple[float, ...], tuple[float, ...]]]:
    """(device transform, plot rectangle) of every item drawn inside a plot: an SVG group drawn
    with one of these transforms belongs to that plot and is clipped to it, as in the window."""
    import pyqtgraph as pg
    from PySide6 import QtGui

    shift = QtGui.QTransform.fromTranslate(-source.x(), -source.y())
    clips = []
    for box in view.export_scene().items():
        if not isinstance(box, pg.ViewBox):
            continue
        rect = box.sceneBoundingRect().translated(-source.x(), -source.y())
        area = (rect.x(), rect.y(), rect.width(), rect.height())
        pending = [box.childGroup]
        while pending:
            item = pending.pop()
            pending.extend(item.childItems())
            t = item.sceneTransform() * shift
            clips.append(((t.m11(), t.m12(), t.m21(), t.m22(), t.dx(), t.dy()), area))
    return clips


def _clip_for(matrix: tuple[float, ...], clips) -> tuple[float, ...] | None:
    for candidate, area in clips:
        scale = max(1.0, *(abs(v) for v in candidate))
        if all(abs(u - v) <= 1e-4 * scale for u, v in zip(matrix, candidate)):
            return area
    return None


_SVG_NS, _XLINK_NS = "http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"
_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_PAIR = re.compile(rf"({_NUMBER})\s*,\s*({_NUMBER})")
_IDENTITY = "matrix(1,0,0,1,0,0)"


def _matrix(transform: str | None) -> tuple[float, ...]:
    numbers = re.findall(_NUMBER, transform or "")
    if not (transform or "").strip().startswith("matrix(") or len(numbers) != 6:
        return (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)
    return tuple(float(v) for v in numbers)


def _mapped(matrix: tuple[float, ...], text: str) -> str:
    a, b, c, d, e, f = matrix

    def pair(match: re.Match) -> str:
        x, y = float(match.group(1)), float(match.group(2))
        return f"{a * x + c * y + e:.6g},{b * x + d * y + f:.6g}"
    return _PAIR.sub(pair, text)


def _to_device(element, matrix: tuple[float, ...]) -> bool:
    """Rewrite a cosmetic-pen element's geometry in the parent's coordinates; False if its kind
    cannot be rewritten that way."""
    tag = element.tag.rpartition("}")[2]
    if tag == "path" and element.get("d") is not None:
        element.set("d", _mapped(matrix, element.get("d")))
    elif tag in ("polyline", "polygon") and element.get("points") is not None:
        element.set("points", _mapped(matrix, element.get("points")))
    elif tag == "rect":
        x, y = float(element.get("x", 0)), float(element.get("y", 0))
        w, h = float(element.get("width", 0)), float(element.get("height", 0))
        for name in ("x", "y", "width", "height", "rx", "ry"):
            element.attrib.pop(name, None)
        element.tag = f"{{{_SVG_NS}}}path"
        element.set("d", _mapped(matrix, f"M{x},{y} L{x + w},{y} L{x + w},{y + h} L{x},{y + h} Z"))
    else:
        return False
    element.attrib.pop("vector-effect", None)
    return True


def _scaled_strokes(path: str | Path, clips=()) -> None:
    """Rewrite Qt's SVG so that cosmetic (always 1-device-pixel-ish) pens need no
    ``vector-effect="non-scaling-stroke"``: rsvg-convert, Inkscape and others ignore it and draw
    a 1 px line in plot coordinates scaled by e.g. 130 (thick black bands). Each such path gets
    its group's transform applied to its coordinates instead, in a group without a transform, so
    the stroke width is in output pixels for every renderer, as in the window. Groups drawn
    inside a plot (``clips``: their transforms and the plot's rectangle) are clipped to it."""
    import xml.etree.ElementTree as ET

    ET.register_namespace("", _SVG_NS)
    ET.register_namespace("xlink", _XLINK_NS)
    tree = ET.parse(path)
    root = tree.getroot()
    parents = {child: parent for parent in root.iter() for child in parent}
    defs = root.find(f"{{{_SVG_NS}}}defs")
    if defs is None:
        defs = ET.Element(f"{{{_SVG_NS}}}defs")
        root.insert(0, defs)
    clip_ids: dict[tuple[float, ...], str] = {}

    def clip_id(area: tuple[float, ...]) -> str:
        if area not in clip_ids:
            clip_ids[area] = f"plot-clip-{len(clip_ids) + 1}"
            element = ET.SubElement(defs, f"{{{_SVG_NS}}}clipPath", {"id": clip_ids[area]})
            x, y, w, h = area
            ET.SubElement(element, f"{{{_SVG_NS}}}rect", {"x": f"{x:.6g}", "y": f"{y:.6g}",
                                                          "width": f"{w:.6g}", "height": f"{h:.6g}"})
        return clip_ids[area]

    for group in list(root.iter(f"{{{_SVG_NS}}}g")):
        children = list(group)
        matrix = _matrix(group.get("transform"))
        area = _clip_for(matrix, clips) if children and group.get("transform") else None
        if area is not None:
            # In an outer group: a clip path is read in the coordinates of the element using it,
            # transform included.
            container = parents.get(group, root)
            wrapper = ET.Element(f"{{{_SVG_NS}}}g", {"clip-path": f"url(#{clip_id(area)})"})
            wrapper.tail, group.tail = group.tail, None
            container.insert(list(container).index(group), wrapper)
            container.remove(group)
            wrapper.append(group)
            parents[group] = wrapper
        if not any(child.get("vector-effect") == "non-scaling-stroke" for child in children):
            continue
        # Split the group into runs (paint order kept): rewritten cosmetic paths, and the rest.
        runs: list[tuple[bool, list]] = []
        for child in children:
            device = child.get("vector-effect") == "non-scaling-stroke" and _to_device(child, matrix)
            if runs and runs[-1][0] == device:
                runs[-1][1].append(child)
            else:
                runs.append((device, [child]))
        container = parents.get(group, root)
        position = list(container).index(group)
        container.remove(group)
        for offset, (device, members) in enumerate(runs):
            copy = ET.Element(group.tag, dict(group.attrib))
            copy.text, copy.tail = group.text, group.tail
            if device:
                copy.set("transform", _IDENTITY)
            else:
                scale = math.sqrt(abs(matrix[0] * matrix[3] - matrix[1] * matrix[2])) or 1.0
                for member in members:  # a kind not rewritten: approximate its width instead
                    if member.attrib.pop("vector-effect", None) == "non-scaling-stroke":
                        width = float(member.get("stroke-width", group.get("stroke-width", 1)))
                        member.set("stroke-width", f"{width / scale:.6g}")
            copy.extend(members)
            container.insert(position + offset, copy)
    for element in root.iter():
        element.attrib.pop("vector-effect", None)
    tree.write(path, encoding="UTF-8", xml_declaration=True)


def _rgb_array(image: "QtGui.QImage"):
    """The image's pixels as a (height, width, 3) uint8 array (a copy; the QImage may go)."""
    import numpy as np
    from PySide6 import QtGui

    rgb = image.convertToFormat(QtGui.QImage.Format.Format_RGB888)
    height, width, stride = rgb.height(), rgb.width(), rgb.bytesPerLine()
    rows = np.frombuffer(rgb.constBits(), dtype=np.uint8, count=stride * height).reshape(height, stride)
    return rows[:, : 3 * width].reshape(height, width, 3).copy()


def _to_pillow(image: "QtGui.QImage"):
    from PIL import Image

    return Image.fromarray(_rgb_array(image))


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


def _check_animation(max_frames: int, fps: float) -> None:
    if not 1 <= max_frames <= 10_000:
        raise ParamError(f"max_frames: {max_frames!r} is not allowed; allowed: 1 to 10000")
    if not 0.1 <= fps <= 100:
        raise ParamError(f"fps: {fps!r} is not allowed; allowed: a number from 0.1 to 100")


def _animation(session: Session, view: "SceneView", width: int, steps: list[int],
               progress: Callable[[int, int], Any] | None, first: Any = None) -> Iterator[Any]:
    """Yield the RGB array of each step in turn (one frame in memory at a time); ``first`` is
    an array already drawn for ``steps[-1]``, reused. Calls ``progress`` after each frame."""
    timeline = session.timeline
    for index, step in enumerate(steps):
        if first is not None and index == len(steps) - 1:
            yield first
        else:
            view.show(timeline.frame_at(step))
            yield _rgb_array(render_image(view, width))
        if progress is not None and progress(index + 1, len(steps)) is False:
            raise ExportCancelled(f"export cancelled after {index + 1} of {len(steps)} frames")


#: Palette index reserved for "unchanged since the previous frame" (transparent).
_KEEP = 255


def _shared_palette(*frames, most_pixels: int = 4_000_000):
    """A 255-colour palette image for all frames, from (a regular sample of) ``frames``: median
    cut, then each entry moved to the most frequent exact colour among the pixels it stands for,
    so flat areas (white background, black text, a class colour) keep their exact colour."""
    import numpy as np
    from PIL import Image

    pixels = sum(f.shape[0] * f.shape[1] for f in frames)
    stride = max(1, math.ceil(math.sqrt(pixels / most_pixels)))
    sample = np.concatenate([f[::stride, ::stride] for f in frames])
    palette = Image.fromarray(sample).quantize(colors=_KEEP, method=Image.Quantize.MEDIANCUT)
    index = np.asarray(palette).ravel().astype(np.int64)
    colour = sample.reshape(-1, 3).astype(np.int64) @ np.array([1 << 16, 1 << 8, 1])
    keys, counts = np.unique((index << 24) | colour, return_counts=True)
    entries = np.array((palette.getpalette() or [])[: 3 * _KEEP] + [0] * (3 * _KEEP), np.int64)[: 3 * _KEEP]
    entries = entries.reshape(_KEEP, 3)
    # Sorted by key, so by index; the last maximum count per index wins (any is fine).
    order = np.lexsort((counts, keys >> 24))
    best = keys[order][np.r_[np.diff(keys[order] >> 24) != 0, True]]
    slots, rgb = best >> 24, best & 0xFFFFFF
    entries[slots] = np.stack([rgb >> 16, (rgb >> 8) & 255, rgb & 255], axis=1)
    palette.putpalette([int(v) for v in entries.ravel()])
    return palette


class _GifStream:
    """Writes an animated GIF frame by frame: one global palette, and each frame after the first
    only as the box of pixels that changed, with unchanged pixels inside it transparent (disposal
    1 keeps the previous picture under it). Identical frames extend the previous frame's delay."""

    MAX_DELAY_MS = 655_000  # a GIF delay is 16 bits of 1/100 s

    def __init__(self, handle, palette_image, size: tuple[int, int]) -> None:
        import numpy as np

        entries = list(palette_image.getpalette() or [])[: 3 * _KEEP]
        entries += [0] * (3 * _KEEP - len(entries))
        self.palette = entries + [0, 0, 0]  # entry 255: "keep", never a pixel's colour
        self.colours = np.array(entries, np.int32).reshape(_KEEP, 3)
        # Exact nearest palette entry of every 24-bit colour seen so far; 255 = not looked up yet.
        # (Pillow's own palette mapping rounds colours first: white became 252.)
        self.lookup = np.full(1 << 24, _KEEP, np.uint8)
        self.handle = handle
        self.previous = None
        self.pending: tuple[Any, tuple[int, int], int, bool] | None = None
        width, height = size
        handle.write(b"GIF89a" + width.to_bytes(2, "little") + height.to_bytes(2, "little")
                     + bytes([0xF7, 0, 0]) + bytes(self.palette))
        handle.write(b"!\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00")  # loop forever
        self._np = np

    def _indices(self, rgb):
        np = self._np
        codes = (rgb[..., 0].astype(np.uint32) << 16) | (rgb[..., 1].astype(np.uint32) << 8) | rgb[..., 2]
        indices = self.lookup[codes]
        missing = indices == _KEEP
        if missing.any():
            new = np.unique(codes[missing])
            for begin in range(0, len(new), 8192):
                chunk = new[begin:begin + 8192].astype(np.int32)
                wanted = np.stack([chunk >> 16, (chunk >> 8) & 255, chunk & 255], axis=1)
                distance = ((wanted[:, None, :] - self.colours[None, :, :]) ** 2).sum(axis=2)
                self.lookup[chunk] = np.argmin(distance, axis=1)
            indices = self.lookup[codes]
        return indices

    def add(self, rgb, delay_ms: int) -> None:
        np = self._np
        indices = self._indices(rgb)
        if self.previous is None:
            self.pending = (indices, (0, 0), delay_ms, False)
        else:
            changed = indices != self.previous
            if not changed.any():
                part, offset, delay, keep = self.pending
                if delay + delay_ms <= self.MAX_DELAY_MS:
                    self.pending = (part, offset, delay + delay_ms, keep)
                    return
                self._flush()
                self.pending = (np.full((1, 1), _KEEP, np.uint8), (0, 0), delay_ms, True)
                return
            rows, cols = np.flatnonzero(changed.any(axis=1)), np.flatnonzero(changed.any(axis=0))
            y0, y1, x0, x1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
            part = indices[y0:y1, x0:x1].copy()
            part[~changed[y0:y1, x0:x1]] = _KEEP
            self._flush()
            self.pending = (part, (int(x0), int(y0)), delay_ms, True)
        self.previous = indices

    def _flush(self) -> None:
        from PIL import GifImagePlugin, Image

        if self.pending is None:
            return
        part, offset, delay, keep = self.pending
        image = Image.frombytes("P", (part.shape[1], part.shape[0]), part.tobytes())
        image.putpalette(self.palette)
        options: dict[str, Any] = {"duration": delay, "disposal": 1}
        if keep:
            options["transparency"] = _KEEP
        for chunk in GifImagePlugin.getdata(image, offset, **options):
            self.handle.write(chunk)
        self.pending = None

    def close(self) -> None:
        self._flush()
        self.handle.write(b";")


def export_gif(session: Session, view: "SceneView", path: str | Path, width: int = DEFAULT_WIDTH[".gif"],
               max_frames: int = 240, fps: float = 30,
               progress: Callable[[int, int], Any] | None = None) -> Path:
    """Save the run so far (start to cursor, evenly subsampled to at most ``max_frames``) as a
    looping animated GIF; the last frame is held for a second. The view is put back on the
    session's current frame afterwards. Frames are streamed to the file one at a time.

    ``progress(done, total)`` is called after each frame; returning False cancels
    (ExportCancelled is raised and nothing is written).
    """
    from PIL import Image

    _check_animation(max_frames, fps)
    steps = gif_steps(session.timeline.start, session.step, max_frames)
    frame_ms = max(20, round(1000 / fps))
    try:
        # One palette for all frames (fast, no flicker), built from the first and last frames
        # together so that items which appear only later in the run keep their colours.
        view.show(session.timeline.frame_at(steps[0]))
        first = _rgb_array(render_image(view, width))
        view.show(session.timeline.frame_at(steps[-1]))
        last = _rgb_array(render_image(view, width))
        palette = _shared_palette(first, last)
        del first
        with _atomic(path) as tmp, open(tmp, "wb") as handle:
            stream = _GifStream(handle, palette, (last.shape[1], last.shape[0]))
            for index, rgb in enumerate(_animation(session, view, width, steps, progress, first=last)):
                stream.add(rgb, max(frame_ms, 1000) if index == len(steps) - 1 else frame_ms)
            stream.close()
    finally:
        view.show(session.frame)
    return Path(path)


def export_mp4(session: Session, view: "SceneView", path: str | Path, width: int = DEFAULT_WIDTH[".mp4"],
               max_frames: int = 240, fps: float = 30,
               progress: Callable[[int, int], Any] | None = None) -> Path:
    """Save the run so far (as for GIF: start to cursor, at most ``max_frames`` frames, one per
    step shown) as an H.264 MP4 video (yuv420p, plays in browsers and slide software), streamed
    frame by frame over a pipe to the ffmpeg binary that the imageio-ffmpeg wheel ships.
    Odd sizes are padded with one white row or column (H.264 needs even sizes)."""
    import numpy as np
    try:
        import imageio_ffmpeg
    except ImportError:  # pragma: no cover - a declared dependency
        raise OutputError(f"output {str(path)!r}: MP4 export needs the imageio-ffmpeg package "
                          "(pip install imageio-ffmpeg)") from None

    _check_animation(max_frames, fps)
    steps = gif_steps(session.timeline.start, session.step, max_frames)
    writer = None
    try:
        with _atomic(path) as tmp, _closing_writer(lambda: writer):
            for rgb in _animation(session, view, width, steps, progress):
                height, wide = rgb.shape[:2]
                if height % 2 or wide % 2:
                    padded = np.full((height + height % 2, wide + wide % 2, 3), 255, np.uint8)
                    padded[:height, :wide] = rgb
                    rgb = padded
                if writer is None:
                    writer = imageio_ffmpeg.write_frames(
                        tmp, (rgb.shape[1], rgb.shape[0]), fps=fps, codec="libx264", quality=None,
                        macro_block_size=1, ffmpeg_log_level="error",
                        # The temporary name does not end in .mp4: name the container.
                        output_params=["-crf", "18", "-movflags", "+faststart", "-f", "mp4"])
                    writer.send(None)
                writer.send(np.ascontiguousarray(rgb).tobytes())
    except (RuntimeError, BrokenPipeError) as error:  # ffmpeg failed; say which output
        raise OutputError(f"output {str(path)!r}: the video encoder failed: {error}") from None
    finally:
        view.show(session.frame)
    return Path(path)


@contextlib.contextmanager
def _closing_writer(current: Callable[[], Any]) -> Iterator[None]:
    """Finish the ffmpeg writer before the temporary file is renamed or removed (ffmpeg writes
    the file's index at the end)."""
    try:
        yield
    except BaseException:
        with contextlib.suppress(Exception):
            if current() is not None:
                current().close()
        raise
    if current() is not None:
        current().close()


# -- one entry point -----------------------------------------------------------------------------
def write(session: Session, path: str | Path, view: "SceneView | None" = None, width: int | None = None,
          include_frame: bool = True, max_frames: int = 240, fps: float = 30,
          progress: Callable[[int, int], Any] | None = None) -> Path:
    """Write ``session`` to ``path`` in the format its suffix names (see FORMATS).

    Raises ParamError (naming the allowed values) for an unknown suffix, a bad width, a read-only
    file or a directory that cannot be written, before anything is written; OutputError (a
    ParamError naming ``path``) when writing fails. Pictures use ``view`` when given, else a view
    built just for this.
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
        animate = export_gif if suffix == ".gif" else export_mp4
        return animate(session, view, path, width, max_frames=max_frames, fps=fps, progress=progress)
    finally:
        if own:
            view.close()


def write_all(session: Session, paths: list[str | Path], view: "SceneView | None" = None,
              width: int | None = None, include_frame: bool = True, max_frames: int = 240, fps: float = 30,
              progress: Callable[[str, int, int], Any] | None = None) -> list[Path]:
    """Write every path (as ``write``), all or nothing: each is checked first, then written to a
    temporary file; they are renamed into place only when all succeeded. ``progress(path, done,
    total)`` reports animation frames."""
    for path in paths:
        check_output(path, width)
    written = []
    with all_or_nothing():
        for path in paths:
            report = None if progress is None else (lambda done, total, p=path: progress(str(p), done, total))
            written.append(write(session, path, view=view, width=width, include_frame=include_frame,
                                 max_frames=max_frames, fps=fps, progress=report))
    return written
