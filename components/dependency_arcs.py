"""A dependency tree as arcs over the words (displaCy's look, drawn here as SVG so it works offline),
with one attention head's guesses drawn under the words: green where the guess is the tree's head,
red where it is not, grey for words that are not scored (root, punct)."""
from __future__ import annotations

from html import escape

from .html import embed, standalone_document

HIT, MISS, UNSCORED, TREE = "#1a9850", "#d73027", "#b0b0b0", "#555555"
LEVEL = 34      # pixels of arc height per word of distance
MAX_RISE = 230  # arcs of far-apart words are flattened at this height


def _slot_centers(words: list[str]) -> tuple[list[float], float]:
    centers, x = [], 20.0
    for word in words:
        width = max(70.0, 9.0 * len(word) + 30.0)
        centers.append(x + width / 2)
        x += width
    return centers, x + 20.0


def _arc(x0: float, x1: float, base: float, rise: float, color: str, dashed: bool = False) -> str:
    """A curved arc from x0 to x1 (above the base line if rise > 0, below if < 0), arrow at x1."""
    top = base - rise
    dash = ' stroke-dasharray="4 3"' if dashed else ""
    arrow_y = base - (4 if rise > 0 else -4)
    tip = 7 if rise > 0 else -7
    return (f'<path d="M{x0:.1f},{base:.1f} C{x0:.1f},{top:.1f} {x1:.1f},{top:.1f} {x1:.1f},{base:.1f}" '
            f'fill="none" stroke="{color}" stroke-width="1.8"{dash}/>'
            f'<path d="M{x1 - 4:.1f},{arrow_y - tip:.1f} L{x1:.1f},{arrow_y:.1f} L{x1 + 4:.1f},{arrow_y - tip:.1f}" '
            f'fill="none" stroke="{color}" stroke-width="1.8"/>')


def arcs_svg(*, words: list[str], heads: list[int], labels: list[str],
             guesses: list[tuple[int, int, bool | None]]) -> tuple[str, int]:
    """(SVG, its height). heads: 1-based (0 = root); guesses: (from word, to word, hit), 0-based,
    hit None when the word is not scored."""
    centers, width = _slot_centers(words)
    spans = [abs(h - 1 - i) for i, h in enumerate(heads) if h] + [abs(b - a) for a, b, _ in guesses] + [1]
    rise = min(MAX_RISE, LEVEL * max(spans) * 0.75 + 20)
    base_top, text_y = rise + 30, rise + 52
    base_bottom = text_y + 14
    height = base_bottom + rise + 20
    parts = []
    for i, (head, label) in enumerate(zip(heads, labels, strict=True)):
        if head == 0:
            parts.append(f'<text x="{centers[i]:.1f}" y="{base_top - 6:.1f}" text-anchor="middle" '
                         f'font-size="11" fill="{TREE}">{escape(label)}</text>')
            continue
        h = head - 1
        lift = min(MAX_RISE, LEVEL * abs(h - i) * 0.75 + 20)
        # arcs start a little off the word centre so arcs in and out of a word do not overlap
        x0 = centers[h] + (6 if i > h else -6)
        parts.append(_arc(x0, centers[i], base_top, lift, TREE))
        parts.append(f'<text x="{(x0 + centers[i]) / 2:.1f}" y="{base_top - 0.75 * lift - 4:.1f}" '
                     f'text-anchor="middle" font-size="12" fill="{TREE}">{escape(label)}</text>')
    for source, target, hit in guesses:
        color = UNSCORED if hit is None else HIT if hit else MISS
        lift = min(MAX_RISE, LEVEL * abs(target - source) * 0.75 + 20)
        x0 = centers[source] + (6 if target > source else -6)
        parts.append(_arc(x0, centers[target], base_bottom, -lift, color, dashed=hit is None))
    for x, word in zip(centers, words, strict=True):
        parts.append(f'<text x="{x:.1f}" y="{text_y:.1f}" text-anchor="middle" font-size="17" '
                     f'font-family="sans-serif">{escape(word)}</text>')
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
            f'font-family="sans-serif">{"".join(parts)}</svg>'), int(height)


def dependency_arcs(*, words: list[str], heads: list[int], labels: list[str],
                    guesses: list[tuple[int, int, bool | None]], key: str) -> str:
    """Draw the tree above the words and the head's guesses below; returns the SVG (for download)."""
    svg, height = arcs_svg(words=words, heads=heads, labels=labels, guesses=guesses)
    body = f'<div style="overflow-x:auto;background:white">{svg}</div>'
    embed(standalone_document(title="Dependency arcs", body=body), height=height + 24, title=f"{key}: dependency arcs")
    return svg
