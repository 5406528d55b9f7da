"""A small SVG kit for the class report's charts: elements built by ElementTree, axes, ticks, PNG cells."""
from __future__ import annotations

import base64
import contextlib
import math
import struct
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from xml.etree import ElementTree

import numpy as np
from markupsafe import Markup

FONT_SIZE = 9.0
INK, MUTED = "#1f2328", "#57606a"
_NARROW, _WIDE = frozenset("fijlrtI.,:;'!|()[] "), frozenset("mwMW%@")
"""Characters far narrower or wider than most in a sans-serif face (DejaVu Sans, Arial...)."""


def number(value: float) -> str:
    """A coordinate for an attribute: two decimals at most, no trailing zeros."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def text_width(text: str, size: float = FONT_SIZE) -> float:
    """About how wide `text` is drawn at `size`, erring wide (DejaVu Sans, the widest common
    face): for margins and a legend's spacing; the browser places the glyphs."""
    return size * sum(0.33 if c in _NARROW else 0.95 if c in _WIDE else 0.72 if c.isupper()
                      else 0.64 for c in text)


@dataclass(frozen=True)
class Scale:
    """A linear map from data values (`low`..`high`) to drawing units (`start`..`end`)."""

    low: float
    """The data value drawn at `start`."""
    high: float
    """The data value drawn at `end`."""
    start: float
    """Where `low` lands, in drawing units."""
    end: float
    """Where `high` lands, in drawing units (smaller than `start` for an upward y axis)."""

    def __call__(self, value: float) -> float:
        span = self.high - self.low
        return self.start + (value - self.low) / span * (self.end - self.start) if span else self.start


def nice_ticks(high: float, most: int = 8, integer: bool = False) -> list[float]:
    """Ticks from 0 to at least `high` at a 1, 2 or 5 times a power of ten step, `most` at most
    (whole numbers only when `integer`: students come whole)."""
    high = max(high, 1.0 if integer else 1e-9)
    raw = high / max(most - 1, 1)
    power = 10.0 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    if integer:
        step = max(1.0, math.ceil(step))
    count = math.ceil(high / step - 1e-9)
    return [i * step for i in range(count + 1)]


class Canvas:
    """One chart: an `<svg>` with a viewBox (CSS scales it to its column) and an accessible label."""

    def __init__(self, width: float, height: float, label: str) -> None:
        self.width, self.height = width, height
        self.root = ElementTree.Element("svg", {
            "role": "img", "aria-label": label, "class": "chart-svg",
            "viewBox": f"0 0 {number(width)} {number(height)}",
            "font-family": "sans-serif", "font-size": number(FONT_SIZE), "fill": INK})
        self._parent = self.root

    def add(self, tag: str, attributes: dict[str, str]) -> ElementTree.Element:
        """A child element of the open group (the chart itself when none is open)."""
        return ElementTree.SubElement(self._parent, tag, attributes)

    @contextlib.contextmanager
    def group(self, name: str) -> Iterator[None]:
        """Elements added inside go into a `<g class=name>`: a part of the chart a page or test can find."""
        outer, self._parent = self._parent, self.add("g", {"class": name})
        try:
            yield
        finally:
            self._parent = outer

    def text(self, x: float, y: float, content: str, anchor: str = "start", **style: str
             ) -> ElementTree.Element:
        """Text at (x, y), its baseline at y; `style` keys with '_' for '-' (font_weight=...)."""
        attributes = {"x": number(x), "y": number(y)}
        if anchor != "start":
            attributes["text-anchor"] = anchor
        attributes.update(_attributes(style))
        element = self.add("text", attributes)
        element.text = content  # ElementTree escapes it: exercise ids come from instructors
        return element

    def path(self, d: str, **style: str) -> ElementTree.Element:
        """A shape or line; `style` keys with '_' for '-' (stroke_width=...)."""
        return self.add("path", {"d": d, **_attributes(style)})

    def rect_path(self, x: float, y: float, width: float, height: float, **style: str) -> None:
        """A rectangle, drawn as a path (one element kind for every shape)."""
        if width > 0 and height > 0:
            self.path(f"M{number(x)} {number(y)}h{number(width)}v{number(height)}h{number(-width)}z",
                      **style)

    def line(self, x1: float, y1: float, x2: float, y2: float, **style: str) -> None:
        self.path(f"M{number(x1)} {number(y1)}L{number(x2)} {number(y2)}", **style)

    def image(self, x: float, y: float, width: float, height: float, pixels: np.ndarray) -> None:
        """An RGB grid (rows x columns x 3, uint8) stretched over the box, one cell per pixel, never smoothed."""
        self.add("image", {"x": number(x), "y": number(y), "width": number(width),
                           "height": number(height), "preserveAspectRatio": "none",
                           "style": "image-rendering:pixelated",
                           "href": "data:image/png;base64," + base64.b64encode(png(pixels)).decode("ascii")})

    def markup(self) -> Markup:
        """The chart as inline SVG for an HTML page (no prolog, no namespace: HTML needs none)."""
        return Markup(ElementTree.tostring(self.root, encoding="unicode"))


def _attributes(style: dict[str, str]) -> dict[str, str]:
    """Keyword arguments as SVG attributes: stroke_width=... is stroke-width."""
    return {key.replace("_", "-"): value for key, value in style.items()}


def x_axis(canvas: Canvas, scale: Scale, y: float, ticks: Sequence[float], label: str,
           labels: Sequence[str] | None = None) -> None:
    """A horizontal axis at `y`: its line, ticks pointing down, tick labels and `label` below."""
    canvas.line(scale.start, y, scale.end, y, stroke=INK, stroke_width="0.8")
    for i, tick in enumerate(ticks):
        x = scale(tick)
        canvas.line(x, y, x, y + 3.5, stroke=INK, stroke_width="0.8")
        canvas.text(x, y + 13, labels[i] if labels else number(tick), "middle")
    canvas.text((scale.start + scale.end) / 2, y + 26, label, "middle")


def y_axis(canvas: Canvas, scale: Scale, x: float, ticks: Sequence[float], label: str) -> None:
    """A vertical axis at `x`: its line, ticks pointing left, tick labels and `label` turned upright."""
    canvas.line(x, scale.start, x, scale.end, stroke=INK, stroke_width="0.8")
    widest = max((text_width(number(t)) for t in ticks), default=0.0)
    for tick in ticks:
        y = scale(tick)
        canvas.line(x - 3.5, y, x, y, stroke=INK, stroke_width="0.8")
        canvas.text(x - 5, y + 3, number(tick), "end")
    middle = (scale.start + scale.end) / 2
    left = x - widest - 12
    canvas.text(left, middle, label, "middle", transform=f"rotate(-90 {number(left)} {number(middle)})")


def hex_rgb(colour: str) -> tuple[int, int, int]:
    """'#rrggbb' as three 0..255 integers."""
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def colour_ramp(values: np.ndarray, stops: Sequence[str]) -> np.ndarray:
    """Values in 0..1 coloured along evenly spaced `stops` ('#rrggbb'): an array of shape values.shape + (3,), uint8."""
    anchors = np.array([hex_rgb(s) for s in stops], dtype=float)
    positions = np.linspace(0.0, 1.0, len(stops))
    clipped = np.clip(np.nan_to_num(values), 0.0, 1.0)
    channels = [np.interp(clipped, positions, anchors[:, c]) for c in range(3)]
    return np.rint(np.stack(channels, axis=-1)).astype(np.uint8)


def png(pixels: np.ndarray) -> bytes:
    """An RGB array (rows x columns x 3, uint8) as a PNG file: enough of the format for a heat map."""
    rows, columns = pixels.shape[:2]

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    # Each scanline starts with its filter type: 0, none.
    scanlines = np.concatenate([np.zeros((rows, 1), np.uint8), pixels.reshape(rows, columns * 3)], axis=1)
    header = struct.pack(">IIBBBBB", columns, rows, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(scanlines.tobytes(), 9)) + chunk(b"IEND", b""))
