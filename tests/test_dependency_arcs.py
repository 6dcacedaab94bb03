"""The dependency arcs' geometry on random trees (a seeded, hypothesis-style loop): displaCy's levels,
labels that never overlap and stay inside the picture, and, in projective trees, no label on a line."""
from __future__ import annotations

import random
import xml.etree.ElementTree as ET

import pytest

from components.dependency_arcs import LABEL_HEIGHT, LABEL_SIZE, LEVEL_STEP, arcs_svg, layout, levels, text_width

LABELS = ["det", "amod", "nsubj", "nmod:poss", "compound", "advmod", "case", "obj", "acl:relcl", "cc", "conj", "x"]
WORDS = ["I", "a", "old", "man", "antidisestablishmentarianism", ".", "garage", "fixed", "in", "his", "Python"]


def random_tree(rng: random.Random, n: int) -> list[int]:
    """1-based heads (0 = root) of a random tree on n words; crossing arcs are allowed."""
    order = list(range(n))
    rng.shuffle(order)
    heads = [0] * n
    for k, word in enumerate(order[1:], start=1):
        heads[word] = order[rng.randrange(k)] + 1
    return heads


def random_projective_tree(rng: random.Random, n: int) -> list[int]:
    heads = [0] * n

    def attach(lo: int, hi: int, head: int) -> None:  # the words lo…hi-1 hang from `head` (0 = root)
        if lo >= hi:
            return
        root = rng.randrange(lo, hi)
        heads[root] = head
        attach(lo, root, root + 1)
        attach(root + 1, hi, root + 1)

    attach(0, n, 0)
    return heads


def random_case(rng: random.Random, projective: bool):
    n = rng.randint(1, 30)
    heads = random_projective_tree(rng, n) if projective else random_tree(rng, n)
    words = [rng.choice(WORDS) for _ in range(n)]
    labels = ["root" if h == 0 else rng.choice(LABELS) for h in heads]
    guesses = [(i, rng.randrange(n), rng.choice([True, False, None])) for i in range(n)]
    return {"words": words, "heads": heads, "labels": labels, "guesses": guesses}


def label_boxes(svg: str) -> tuple[list[tuple[float, float, float, float]], tuple[float, ...]]:
    root = ET.fromstring(svg)
    view = tuple(float(v) for v in root.get("viewBox").split())
    boxes = [(float(r.get("x")), float(r.get("y")), float(r.get("width")), float(r.get("height")))
             for r in root.iter("{http://www.w3.org/2000/svg}rect") if r.get("class") == "label"]
    return boxes, view


def overlap(a, b) -> bool:
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def test_levels_as_displacy_assigns_them():
    # the shortest arcs first; an arc is one level above every arc whose gaps it covers
    assert levels([(0, 1), (1, 2), (0, 2), (2, 3), (0, 3)]) == [1, 1, 2, 1, 3]
    assert levels([(0, 2), (1, 3)]) == [1, 2]           # crossing arcs share the gap 1-2
    assert levels([(0, 1), (2, 3)]) == [1, 1]           # disjoint arcs share a level
    assert levels([]) == []


@pytest.mark.parametrize("projective", [True, False])
def test_random_trees_labels_never_overlap_and_stay_inside(projective):
    rng = random.Random(20191)
    for _ in range(300):
        case = random_case(rng, projective)
        svg, height = arcs_svg(**case)
        boxes, (x, y, width, view_height) = label_boxes(svg)
        assert len(boxes) == len(case["words"])    # one label per word: its relation, or root
        assert view_height == pytest.approx(height, abs=1)
        for n, box in enumerate(boxes):
            assert x <= box[0] and box[0] + box[2] <= x + width, (case, box)
            assert y <= box[1] and box[1] + box[3] <= y + view_height, (case, box)
            for other in boxes[n + 1:]:
                assert not overlap(box, other), (case, box, other)


@pytest.mark.parametrize("projective", [True, False])
def test_random_trees_nested_arcs_of_different_spans_never_share_a_level(projective):
    rng = random.Random(7)
    for _ in range(300):
        case = random_case(rng, projective)
        shape = layout(**case)
        for arcs in (shape.above, shape.below):
            for a in arcs:
                for b in arcs:
                    nested = b.left <= a.left and a.right <= b.right
                    if nested and (b.right - b.left) > (a.right - a.left):
                        assert a.arc.level < b.arc.level, (case, a, b)


def test_random_projective_trees_no_line_crosses_another_or_a_label():
    rng = random.Random(3)
    for _ in range(300):
        case = random_case(rng, projective=True)
        shape = layout(**case)
        feet = [x for p in shape.above for x in (p.x0, p.x1)]
        assert len(set(feet)) == len(feet), case          # every arc has its own feet
        for p in shape.above:
            assert p.x0 < p.x1
            top = shape.top_base - LEVEL_STEP * p.arc.level
            half = text_width(p.arc.label, LABEL_SIZE) / 2
            box = (p.label_x - half, top - LABEL_HEIGHT / 2, 2 * half, LABEL_HEIGHT)
            assert p.x0 <= box[0] and box[0] + box[2] <= p.x1     # on its own top edge
            for other in shape.above:
                if other is p:
                    continue
                other_top = shape.top_base - LEVEL_STEP * other.arc.level
                for foot in (other.x0, other.x1):              # the other arc's upright lines
                    assert not overlap(box, (foot - 0.8, other_top, 1.6, shape.top_base - other_top)), (case, p, other)
                assert not overlap(box, (other.x0, other_top - 0.8, other.x1 - other.x0, 1.6)), (case, p, other)
                if other.arc.level > p.arc.level:                   # a higher arc's uprights miss this top edge
                    assert not (p.x0 < other.x0 < p.x1 or p.x0 < other.x1 < p.x1), (case, p, other)
