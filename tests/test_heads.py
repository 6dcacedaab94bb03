"""app/heads.py: one written form of a head, "L-H" counted from 1, and old "layer:head" links still read."""
from app.heads import head_label, parse_head, parse_heads


def test_a_head_is_written_layer_dash_head_from_1_and_parses_back():
    assert head_label(0, 0) == "1-1" and head_label(5, 11) == "6-12"
    pairs = [(layer, head) for layer in range(6) for head in range(12)]
    assert [parse_head(head_label(i, h)) for i, h in pairs] == pairs
    assert parse_heads(",".join(head_label(i, h) for i, h in pairs), 6, 12) == pairs


def test_the_old_colon_form_still_reads():
    assert parse_head("1:4") == parse_head("1-4") == parse_head(" 1 - 4 ") == (0, 3)
    assert parse_heads("1:4,6-12", 6, 12) == [(0, 3), (5, 11)]


def test_malformed_and_out_of_range_heads_are_skipped():
    # Written from 1: "1:4" is layer index 0, head index 3; 0 and 7 are out of range for 6 × 12.
    assert parse_heads("1:4, 6:12,x:1,2:,7:1,0:3,2:0,2:13,1-4,3-4-5", layers=6, heads=12) == [(0, 3), (5, 11)]
    assert parse_heads("", 6, 12) == []
    assert parse_head("0-1") is None and parse_head("1-") is None and parse_head("L-H") is None
