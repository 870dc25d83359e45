"""Writes the fonts the text tests read, with fontTools' FontBuilder (the reference writer).

    python3 fonts.py OUT_DIR

- `quadratic.ttf`: TrueType outlines (quadratic curves, `glyf`): "O" is a ring of two
  circles, "H" three rectangles, "8" two rings overlapping, "T" two overlapping rectangles
  (contours that overlap, as variable fonts draw them).
- `cubic.otf`: the same letters in CFF outlines (cubic curves).
- `shapes.json`: what each letter is, for the tests to check against: its area in font units
  and its holes.

The circles are drawn from four curves each, so a reader that mishandles curves gets the area
wrong.
"""

import json
import math
import sys
from pathlib import Path

from fontTools.fontBuilder import FontBuilder
from fontTools.pens.cu2quPen import Cu2QuPen
from fontTools.pens.t2CharStringPen import T2CharStringPen
from fontTools.pens.ttGlyphPen import TTGlyphPen

UPEM = 1000
# A circle from four cubic curves: the control distance for a quarter.
KAPPA = 4 * (math.sqrt(2) - 1) / 3


def circle(pen, cx, cy, r, clockwise):
    s = -1 if clockwise else 1
    k = KAPPA * r

    def p(x, y):
        return (cx + x, cy + s * y)

    pen.moveTo(p(r, 0))
    pen.curveTo(p(r, k), p(k, r), p(0, r))
    pen.curveTo(p(-k, r), p(-r, k), p(-r, 0))
    pen.curveTo(p(-r, -k), p(-k, -r), p(0, -r))
    pen.curveTo(p(k, -r), p(r, -k), p(r, 0))
    pen.closePath()


def rect(pen, x0, y0, x1, y1):
    pen.moveTo((x0, y0))
    pen.lineTo((x1, y0))
    pen.lineTo((x1, y1))
    pen.lineTo((x0, y1))
    pen.closePath()


def draw(name, pen):
    if name == "O":
        circle(pen, 350, 350, 350, clockwise=False)
        circle(pen, 350, 350, 200, clockwise=True)
    elif name == "H":
        rect(pen, 0, 0, 150, 700)
        rect(pen, 450, 0, 600, 700)
        rect(pen, 150, 300, 450, 400)
    elif name == "8":
        circle(pen, 250, 200, 200, clockwise=False)
        circle(pen, 250, 200, 80, clockwise=True)
        circle(pen, 250, 540, 160, clockwise=False)
        circle(pen, 250, 540, 60, clockwise=True)
    elif name == "T":
        rect(pen, 0, 600, 600, 700)
        rect(pen, 225, 0, 375, 650)


SHAPES = {
    "O": {"area": math.pi * (350**2 - 200**2), "holes": 1, "shells": 1},
    "H": {"area": 2 * 150 * 700 + 300 * 100, "holes": 0, "shells": 1},
    # The rings overlap (their outer circles cross), so the merged 8 is one piece.
    "8": {"area": None, "holes": 2, "shells": 1},
    "T": {"area": 600 * 100 + 150 * 600, "holes": 0, "shells": 1},
}
ADVANCE = 800


def build(path, cff):
    names = [".notdef", "space"] + [f"glyph{c}" for c in SHAPES]
    fb = FontBuilder(UPEM, isTTF=not cff)
    fb.setupGlyphOrder(names)
    cmap = {ord(" "): "space"}
    cmap.update({ord(c): f"glyph{c}" for c in SHAPES})
    fb.setupCharacterMap(cmap)
    metrics = {name: (ADVANCE, 0) for name in names}
    if cff:
        charstrings = {}
        for name in names:
            pen = T2CharStringPen(ADVANCE, None)
            if name.startswith("glyph"):
                draw(name[5:], pen)
            charstrings[name] = pen.getCharString()
        fb.setupCFF("LithosTestCubic", {"FullName": "Lithos Test Cubic"}, charstrings, {})
    else:
        glyphs = {}
        for name in names:
            pen = TTGlyphPen(None)
            if name.startswith("glyph"):
                # TrueType winds outer contours clockwise: the converter reverses them.
                draw(name[5:], Cu2QuPen(pen, max_err=0.5, reverse_direction=True))
            glyphs[name] = pen.glyph()
        fb.setupGlyf(glyphs)
    fb.setupHorizontalMetrics(metrics)
    fb.setupHorizontalHeader(ascent=800, descent=-200)
    family = "Lithos Test Cubic" if cff else "Lithos Test Quadratic"
    fb.setupNameTable({"familyName": family, "styleName": "Regular", "fullName": family})
    fb.setupOS2(sTypoAscender=800, sTypoDescender=-200, usWinAscent=800, usWinDescent=200,
                sCapHeight=700)
    fb.setupPost()
    fb.save(str(path))


def main():
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    build(out / "quadratic.ttf", cff=False)
    build(out / "cubic.otf", cff=True)
    (out / "shapes.json").write_text(json.dumps({"upem": UPEM, "cap": 700, "glyphs": SHAPES}))


if __name__ == "__main__":
    main()
