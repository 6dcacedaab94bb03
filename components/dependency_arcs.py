"""A dependency tree as arcs over the words (displaCy's look, drawn here as SVG so it works offline),
with one attention head's guesses drawn under the words: green where the guess is the tree's head,
red where it is not, grey for words that are not scored (root, punct).

Arcs are laid out as displaCy does: the shortest first, each one level above every arc it spans, so
nested arcs never share a level. An arc is drawn square (up from one word, across, down to the other)
with its label on its top edge; where several arcs meet a word they stand side by side, the
higher ones nearer the word's middle, so no line runs over another and no label over a line (in a projective tree;
where arcs cross, a label moves to the widest stretch of its edge that no other arc crosses). The
root's arrow comes down from above every arc, its label at the top of the picture.
"""
from __future__ import annotations

from dataclasses import dataclass
from html import escape

from .html import embed, standalone_document

HIT, MISS, UNSCORED, TREE = "#1a9850", "#d73027", "#b0b0b0", "#555555"
WORD_SIZE, LABEL_SIZE = 17, 12   # font sizes, px
LABEL_HEIGHT = 14                # a label's box
LEVEL_STEP = 24                  # tree arcs: pixels per level (more than a label's height, so labels never touch)
GUESS_STEP = 12                  # guesses below the words carry no label
SIDE_GAP = 6                     # between the feet of arcs that meet the same word
MARGIN = 12


def text_width(text: str, size: float) -> float:
    """A generous estimate of a sans-serif text's width (no font metrics on the server)."""
    return 0.62 * size * len(text) + 2


def levels(spans: list[tuple[int, int]]) -> list[int]:
    """displaCy's levels (spaCy's displacy/render.py, get_levels): shortest spans first, each one level
    above the highest arc that covers any of the gaps between its words. spans: (left, right) words."""
    top = [0] * (max((right for _, right in spans), default=0) + 1)   # per gap between word g and g + 1
    result = [0] * len(spans)
    for n in sorted(range(len(spans)), key=lambda n: spans[n][1] - spans[n][0]):
        left, right = spans[n]
        level = max(top[left:right], default=0) + 1
        top[left:right] = [level] * (right - left)
        result[n] = level
    return result


@dataclass(frozen=True)
class Arc:
    source: int          # the arrow starts here (the head, or the word whose guess it is)
    target: int          # and points here
    level: int
    color: str
    label: str = ""
    dashed: bool = False


@dataclass
class Placed:
    arc: Arc
    x0: float = 0.0      # the foot at the left word
    x1: float = 0.0      # the foot at the right word
    label_x: float = 0.0

    @property
    def left(self) -> int:
        return min(self.arc.source, self.arc.target)

    @property
    def right(self) -> int:
        return max(self.arc.source, self.arc.target)


def _arcs(pairs: list[tuple[int, int]], colors: list[str], labels: list[str], dashed: list[bool]) -> list[Placed]:
    spans = [(min(a, b), max(a, b)) for a, b in pairs]
    return [Placed(Arc(a, b, level, color, label, dash))
            for (a, b), level, color, label, dash in zip(pairs, levels(spans), colors, labels, dashed, strict=True)]


def _feet(arcs: list[Placed], words: int) -> list[tuple[list[Placed], list[Placed]]]:
    """Per word: the arcs that reach it from the left and those that leave it to the right, each
    ordered from the word's centre outwards by falling level (the higher arc stands nearer the centre,
    so it passes over the lower ones' feet)."""
    feet = [([], []) for _ in range(words)]
    for placed in arcs:
        feet[placed.right][0].append(placed)
        feet[placed.left][1].append(placed)
    for from_left, to_right in feet:
        for side in (from_left, to_right):
            side.sort(key=lambda p: (-p.arc.level, p.right - p.left))
    return feet


def _half_width(feet: tuple[list[Placed], list[Placed]]) -> float:
    return SIDE_GAP * (max(len(feet[0]), len(feet[1])) + 1)


@dataclass(frozen=True)
class Layout:
    width: float
    height: float
    centers: list[float]
    text_y: float
    above: list[Placed]      # the tree, root excluded
    below: list[Placed]      # the guesses
    root: list[tuple[int, str]]
    top_base: float          # the tree's arcs stand on this line
    bottom_base: float       # the guesses hang from this one
    root_y: float            # where the root's arrow starts, under its label


def layout(*, words: list[str], heads: list[int], labels: list[str],
           guesses: list[tuple[int, int, bool | None]]) -> Layout:
    """Where every word, arc and label goes. heads: 1-based (0 = root); guesses: (from word, to word,
    hit), 0-based, hit None when the word is not scored."""
    tree = [(h - 1, i) for i, h in enumerate(heads) if h]
    tree_labels = [labels[i] for i, h in enumerate(heads) if h]
    above = _arcs(tree, [TREE] * len(tree), tree_labels, [False] * len(tree))
    guesses = [g for g in guesses if g[0] != g[1]]   # a word's guess of itself has no arc to draw
    below = _arcs([(a, b) for a, b, _ in guesses],
                  [UNSCORED if hit is None else HIT if hit else MISS for _, _, hit in guesses],
                  [""] * len(guesses), [hit is None for _, _, hit in guesses])
    root = [(i, labels[i]) for i, h in enumerate(heads) if h == 0]
    feet_above, feet_below = _feet(above, len(words)), _feet(below, len(words))

    # Word slots: wide enough for the word and for the feet of the arcs that meet it.
    halves = [max(text_width(w, WORD_SIZE) / 2, _half_width(a), _half_width(b), 35.0) + 6
              for w, a, b in zip(words, feet_above, feet_below, strict=True)]
    gaps = [halves[i] + halves[i + 1] for i in range(len(words) - 1)]
    # Every label fits on its arc's top edge: widen the gaps under an arc that is too narrow for it
    # (shortest arcs first, so a widening also serves the arcs above).
    for placed in sorted(above, key=lambda p: p.right - p.left):
        inner = sum(gaps[placed.left:placed.right]) - 2 * max(_half_width(feet_above[placed.left]),
                                                              _half_width(feet_above[placed.right]))
        need = text_width(placed.arc.label, LABEL_SIZE) + 8 - inner
        if need > 0:
            for g in range(placed.left, placed.right):
                gaps[g] += need / (placed.right - placed.left)
    root_label = max((text_width(label, LABEL_SIZE) for _, label in root), default=0) / 2 + 4
    centers = [MARGIN + max(halves[0], root_label) if words else MARGIN]
    for gap in gaps:
        centers.append(centers[-1] + gap)
    width = centers[-1] + max(halves[-1] if words else 0, root_label) + MARGIN

    for feet in (feet_above, feet_below):
        for word, (from_left, to_right) in enumerate(feet):
            for n, placed in enumerate(from_left):
                placed.x1 = centers[word] - SIDE_GAP * (n + 1)
            for n, placed in enumerate(to_right):
                placed.x0 = centers[word] + SIDE_GAP * (n + 1)
    for placed in above:
        placed.label_x = _label_x(placed, above, text_width(placed.arc.label, LABEL_SIZE))

    top_level = max((p.arc.level for p in above), default=0) + (1 if root else 0)
    top_base = MARGIN + LABEL_HEIGHT / 2 + LEVEL_STEP * top_level + 6
    text_y = top_base + WORD_SIZE + 4
    bottom_base = text_y + 8
    height = bottom_base + GUESS_STEP * max((p.arc.level for p in below), default=0) + MARGIN + 4
    return Layout(width, height, centers, text_y, above, below, root, top_base, bottom_base,
                  top_base - LEVEL_STEP * top_level)


def _label_x(placed: Placed, arcs: list[Placed], label_width: float) -> float:
    """The middle of the arc's top edge, or, where other arcs' feet rise through it (crossing arcs),
    the middle of the widest stretch between them."""
    crossings = sorted(x for other in arcs if other.arc.level > placed.arc.level
                       for x in (other.x0, other.x1) if placed.x0 < x < placed.x1)
    stops = [placed.x0, *crossings, placed.x1]
    a, b = max(zip(stops[:-1], stops[1:], strict=True), key=lambda s: s[1] - s[0])
    middle = (a + b) / 2
    if not crossings:
        return middle
    lo, hi = placed.x0 + label_width / 2 + 2, placed.x1 - label_width / 2 - 2   # keep it on its own edge
    return min(max(middle, lo), hi) if lo <= hi else (placed.x0 + placed.x1) / 2


def _square_arc(placed: Placed, base: float, height: float, sign: int, radius: float = 4) -> str:
    """Up (sign 1) or down (sign -1) from the left foot, across at `height` from the base, back to the
    right foot; the arrow points at the target."""
    arc = placed.arc
    x0, x1, y = placed.x0, placed.x1, base - sign * height
    r = min(radius, (x1 - x0) / 2, height / 2)
    dash = ' stroke-dasharray="4 3"' if arc.dashed else ""
    path = (f"M{x0:.1f},{base:.1f} L{x0:.1f},{y + sign * r:.1f} Q{x0:.1f},{y:.1f} {x0 + r:.1f},{y:.1f} "
            f"L{x1 - r:.1f},{y:.1f} Q{x1:.1f},{y:.1f} {x1:.1f},{y + sign * r:.1f} L{x1:.1f},{base:.1f}")
    tip_x = x1 if arc.target > arc.source else x0
    tip = f"M{tip_x - 3.5:.1f},{base - sign * 7:.1f} L{tip_x:.1f},{base:.1f} L{tip_x + 3.5:.1f},{base - sign * 7:.1f}"
    return (f'<path d="{path}" fill="none" stroke="{arc.color}" stroke-width="1.6"{dash}/>'
            f'<path d="{tip}" fill="none" stroke="{arc.color}" stroke-width="1.6"/>')


def _label(x: float, y: float, text: str) -> str:
    """A label centred at (x, y) on a white box that hides the line under it."""
    w = text_width(text, LABEL_SIZE)
    return (f'<rect class="label" x="{x - w / 2:.1f}" y="{y - LABEL_HEIGHT / 2:.1f}" width="{w:.1f}" '
            f'height="{LABEL_HEIGHT}" fill="white"/>'
            f'<text x="{x:.1f}" y="{y + 4:.1f}" text-anchor="middle" font-size="{LABEL_SIZE}" '
            f'fill="{TREE}">{escape(text)}</text>')


def arcs_svg(*, words: list[str], heads: list[int], labels: list[str],
             guesses: list[tuple[int, int, bool | None]]) -> tuple[str, int]:
    """(SVG, its height). heads: 1-based (0 = root); guesses: (from word, to word, hit), 0-based,
    hit None when the word is not scored."""
    shape = layout(words=words, heads=heads, labels=labels, guesses=guesses)
    parts = [_square_arc(p, shape.top_base, LEVEL_STEP * p.arc.level, 1) for p in shape.above]
    parts += [_label(p.label_x, shape.top_base - LEVEL_STEP * p.arc.level, p.arc.label) for p in shape.above]
    for word, label in shape.root:
        x = shape.centers[word]
        parts.append(f'<path d="M{x:.1f},{shape.root_y:.1f} L{x:.1f},{shape.top_base:.1f} '
                     f'M{x - 3.5:.1f},{shape.top_base - 7:.1f} L{x:.1f},{shape.top_base:.1f} '
                     f'L{x + 3.5:.1f},{shape.top_base - 7:.1f}" fill="none" stroke="{TREE}" stroke-width="1.6"/>')
        parts.append(_label(x, shape.root_y, label))
    parts += [_square_arc(p, shape.bottom_base, GUESS_STEP * p.arc.level, -1) for p in shape.below]
    for x, word in zip(shape.centers, words, strict=True):
        parts.append(f'<text x="{x:.1f}" y="{shape.text_y:.1f}" text-anchor="middle" font-size="{WORD_SIZE}">'
                     f"{escape(word)}</text>")
    width, height = f"{shape.width:.0f}", f"{shape.height:.0f}"
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" font-family="sans-serif">'
            f'<rect width="100%" height="100%" fill="white"/>{"".join(parts)}</svg>'), int(shape.height)


def dependency_arcs(*, words: list[str], heads: list[int], labels: list[str],
                    guesses: list[tuple[int, int, bool | None]], key: str) -> str:
    """Draw the tree above the words and the head's guesses below; returns the SVG (for download)."""
    svg, height = arcs_svg(words=words, heads=heads, labels=labels, guesses=guesses)
    body = f'<div style="overflow-x:auto;background:white">{svg}</div>'
    embed(standalone_document(title="Dependency arcs", body=body), height=height + 24, title=f"{key}: dependency arcs")
    return svg
