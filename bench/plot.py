"""The listener plot, written as a PNG by this module alone (no plotting
library: zlib and a 5x7 bitmap font are enough for lines, points, error bars
and labels, and keep the benchmark free of a large dependency).

Both axes are logarithmic: x is the number of concurrent clients, y is
microseconds. Solid lines are the median latency of a call (bars: IQR),
dashed lines the cost per call (wall time / calls).
"""
from __future__ import annotations

import math
import struct
import zlib

_FONT = {
    "0": (14, 17, 19, 21, 25, 17, 14), "1": (4, 12, 4, 4, 4, 4, 14),
    "2": (14, 17, 1, 2, 4, 8, 31), "3": (31, 2, 4, 2, 1, 17, 14),
    "4": (2, 6, 10, 18, 31, 2, 2), "5": (31, 16, 30, 1, 1, 17, 14),
    "6": (6, 8, 16, 30, 17, 17, 14), "7": (31, 1, 2, 4, 8, 8, 8),
    "8": (14, 17, 17, 14, 17, 17, 14), "9": (14, 17, 17, 15, 1, 2, 12),
    "A": (14, 17, 17, 31, 17, 17, 17), "B": (30, 17, 17, 30, 17, 17, 30),
    "C": (14, 17, 16, 16, 16, 17, 14), "D": (28, 18, 17, 17, 17, 18, 28),
    "E": (31, 16, 16, 30, 16, 16, 31), "F": (31, 16, 16, 30, 16, 16, 16),
    "G": (14, 17, 16, 23, 17, 17, 15), "H": (17, 17, 17, 31, 17, 17, 17),
    "I": (14, 4, 4, 4, 4, 4, 14), "J": (7, 2, 2, 2, 2, 18, 12),
    "K": (17, 18, 20, 24, 20, 18, 17), "L": (16, 16, 16, 16, 16, 16, 31),
    "M": (17, 27, 21, 21, 17, 17, 17), "N": (17, 17, 25, 21, 19, 17, 17),
    "O": (14, 17, 17, 17, 17, 17, 14), "P": (30, 17, 17, 30, 16, 16, 16),
    "Q": (14, 17, 17, 17, 21, 18, 13), "R": (30, 17, 17, 30, 20, 18, 17),
    "S": (15, 16, 16, 14, 1, 1, 30), "T": (31, 4, 4, 4, 4, 4, 4),
    "U": (17, 17, 17, 17, 17, 17, 14), "V": (17, 17, 17, 17, 17, 10, 4),
    "W": (17, 17, 17, 21, 21, 21, 10), "X": (17, 17, 10, 4, 10, 17, 17),
    "Y": (17, 17, 17, 10, 4, 4, 4), "Z": (31, 1, 2, 4, 8, 16, 31),
    " ": (0,) * 7, ".": (0, 0, 0, 0, 0, 12, 12), "-": (0, 0, 0, 31, 0, 0, 0),
    "/": (0, 1, 2, 4, 8, 16, 0), "(": (2, 4, 8, 8, 8, 4, 2), ")": (8, 4, 2, 2, 2, 4, 8),
    "=": (0, 0, 31, 0, 31, 0, 0), ":": (0, 12, 12, 0, 12, 12, 0), ",": (0, 0, 0, 0, 12, 4, 8),
    "+": (0, 4, 4, 31, 4, 4, 0), "%": (24, 25, 2, 4, 8, 19, 3), "_": (0, 0, 0, 0, 0, 0, 31),
}
COLOURS = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40)]
GREY, BLACK, WHITE = (200, 200, 200), (0, 0, 0), (255, 255, 255)


class Canvas:
    def __init__(self, width: int, height: int):
        self.w, self.h = width, height
        self.px = bytearray(WHITE * (width * height))

    def dot(self, x: int, y: int, colour):
        if 0 <= x < self.w and 0 <= y < self.h:
            i = (y * self.w + x) * 3
            self.px[i:i + 3] = bytes(colour)

    def line(self, x0, y0, x1, y1, colour, width=1, dash=0):
        x0, y0, x1, y1 = round(x0), round(y0), round(x1), round(y1)
        steps = max(abs(x1 - x0), abs(y1 - y0), 1)
        for s in range(steps + 1):
            if dash and (s // dash) % 2:
                continue
            x = x0 + (x1 - x0) * s / steps
            y = y0 + (y1 - y0) * s / steps
            for dx in range(-(width // 2), width - width // 2):
                for dy in range(-(width // 2), width - width // 2):
                    self.dot(round(x) + dx, round(y) + dy, colour)

    def disc(self, cx, cy, r, colour):
        for dy in range(-r, r + 1):
            for dx in range(-r, r + 1):
                if dx * dx + dy * dy <= r * r:
                    self.dot(round(cx) + dx, round(cy) + dy, colour)

    def text(self, x, y, s: str, colour=BLACK, scale=2):
        for ch in s.upper():
            rows = _FONT.get(ch, _FONT["-"])
            for ry, bits in enumerate(rows):
                for rx in range(5):
                    if bits & (16 >> rx):
                        for sx in range(scale):
                            for sy in range(scale):
                                self.dot(x + rx * scale + sx, y + ry * scale + sy, colour)
            x += 6 * scale

    @staticmethod
    def text_width(s: str, scale=2) -> int:
        return len(s) * 6 * scale

    def png(self) -> bytes:
        raw = b"".join(b"\x00" + bytes(self.px[y * self.w * 3:(y + 1) * self.w * 3])
                       for y in range(self.h))

        def chunk(kind, data):
            return (struct.pack(">I", len(data)) + kind + data
                    + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
        return (b"\x89PNG\r\n\x1a\n"
                + chunk(b"IHDR", struct.pack(">IIBBBBB", self.w, self.h, 8, 2, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))


def listener_plot(series: list[dict], path, title="LISTENER: LATENCY AND COST PER CALL VS CLIENTS"):
    """``series``: [{"name", "kind": "latency"|"cost", "points": [(n, median, q1, q3)]}].
    Writes a PNG to ``path``."""
    W, H, L, R, T, B = 900, 560, 90, 30, 50, 110
    c = Canvas(W, H)
    pts = [p for s in series for p in s["points"]]
    if not pts:
        c.text(L, H // 2, "NO LISTENER FIGURES")
        _write(path, c)
        return
    ns = sorted({p[0] for p in pts})
    ys = [v for p in pts for v in p[1:] if v and v > 0]
    lo = 10 ** math.floor(math.log10(min(ys)))
    hi = 10 ** math.ceil(math.log10(max(ys)))
    if hi <= lo:
        hi = lo * 10
    xlo, xhi = math.log2(ns[0]), math.log2(ns[-1]) if ns[-1] > ns[0] else math.log2(ns[0]) + 1

    def X(n):
        return L + (math.log2(n) - xlo) / (xhi - xlo) * (W - L - R)

    def Y(v):
        return T + (math.log10(hi) - math.log10(max(v, lo))) / (math.log10(hi) - math.log10(lo)) * (H - T - B)

    # grid and axes
    d = lo
    while d <= hi * 1.0001:
        c.line(L, Y(d), W - R, Y(d), GREY)
        label = _us(d)
        c.text(L - 8 - c.text_width(label), round(Y(d)) - 7, label)
        d *= 10
    for n in ns:
        c.line(X(n), T, X(n), H - B, GREY)
        c.text(round(X(n)) - c.text_width(str(n)) // 2, H - B + 10, str(n))
    c.line(L, T, L, H - B, BLACK, 2)
    c.line(L, H - B, W - R, H - B, BLACK, 2)
    c.text(L, 15, title)
    c.text((W - c.text_width("CONCURRENT CLIENTS N")) // 2, H - B + 34, "CONCURRENT CLIENTS N")
    # series
    names = []
    for s in series:
        if s["name"] not in names:
            names.append(s["name"])
    for s in series:
        colour = COLOURS[names.index(s["name"]) % len(COLOURS)]
        dash = 6 if s["kind"] == "cost" else 0
        points = sorted(s["points"])
        for a, b in zip(points, points[1:]):
            c.line(X(a[0]), Y(a[1]), X(b[0]), Y(b[1]), colour, 2, dash)
        for n, med, q1, q3 in points:
            if s["kind"] == "latency":
                c.line(X(n), Y(q1), X(n), Y(q3), colour, 1)
                c.line(X(n) - 5, Y(q1), X(n) + 5, Y(q1), colour)
                c.line(X(n) - 5, Y(q3), X(n) + 5, Y(q3), colour)
            c.disc(X(n), Y(med), 4, colour)
    # legend: one colour per implementation, then what the line styles mean
    y = H - 50
    col = max(36 + c.text_width(name) + 24 for name in names)
    for i, name in enumerate(names):
        x = L + i * col
        c.line(x, y + 7, x + 30, y + 7, COLOURS[i % len(COLOURS)], 2)
        c.text(x + 36, y, name)
    y += 22
    c.line(L, y + 7, L + 30, y + 7, BLACK, 2)
    c.text(L + 36, y, "MEDIAN LATENCY (BARS: IQR)")
    x = L + 36 + c.text_width("MEDIAN LATENCY (BARS: IQR)") + 30
    c.line(x, y + 7, x + 30, y + 7, BLACK, 2, 6)
    c.text(x + 36, y, "COST PER CALL")
    _write(path, c)


def _us(v: float) -> str:
    if v >= 1e6:
        return f"{v / 1e6:g}S"
    if v >= 1e3:
        return f"{v / 1e3:g}MS"
    return f"{v:g}US"


def _write(path, canvas):
    with open(path, "wb") as f:
        f.write(canvas.png())
