"""Word-level attention and the argmax rule, on hand-made attention matrices with known answers."""
import pytest
import torch

from app.wordlevel import most_attended, word_attention, word_ids_from_pieces, word_maps

# [CLS] play ##ing now [SEP]: word 0 = pieces 1, 2; word 1 = piece 3. Rows attend to columns.
TOKENS = torch.tensor([
    [0.5, 0.1, 0.1, 0.2, 0.1],
    [0.1, 0.2, 0.3, 0.3, 0.1],
    [0.2, 0.4, 0.1, 0.1, 0.2],
    [0.3, 0.1, 0.2, 0.2, 0.2],
    [0.2, 0.2, 0.2, 0.2, 0.2],
])
# Worked by hand: FROM "playing" = mean of rows 1 and 2, TO "playing" = sum of columns 1 and 2.
#   playing→playing: mean(0.2+0.3, 0.4+0.1) = 0.5    playing→now: mean(0.3, 0.1) = 0.2
#   now→playing:     0.1+0.2 = 0.3                    now→now: 0.2
WORDS = torch.tensor([[0.5, 0.2], [0.3, 0.2]])


def test_word_ids_from_pieces_marks_specials_and_dropped_words():
    assert word_ids_from_pieces([(1, 2), (3,)], 5).tolist() == [-1, 0, 0, 1, -1]
    assert word_ids_from_pieces([(1,), (), (2,)], 4).tolist() == [-1, 0, 2, -1]


def test_to_is_sum_and_from_is_mean_over_pieces():
    maps = word_maps(word_ids_from_pieces([(1, 2), (3,)], 5), 2)
    assert torch.allclose(word_attention(TOKENS, maps), WORDS)
    assert maps.has_pieces.tolist() == [True, True]


def test_cls_and_sep_are_dropped_without_renormalising():
    maps = word_maps(word_ids_from_pieces([(1, 2), (3,)], 5), 2)
    # "now" sends 0.3 to [CLS] and 0.2 to [SEP]: what is left over the words is 0.5, not 1
    assert word_attention(TOKENS, maps)[1].sum().item() == pytest.approx(0.5)


def test_word_without_pieces_gets_and_gives_nothing():
    tokens = torch.tensor([
        [0.4, 0.3, 0.2, 0.1],
        [0.1, 0.1, 0.7, 0.1],
        [0.1, 0.6, 0.2, 0.1],
        [0.25, 0.25, 0.25, 0.25],
    ])
    maps = word_maps(word_ids_from_pieces([(1,), (), (2,)], 4), 3)
    words = word_attention(tokens, maps)
    expected = torch.tensor([[0.1, 0.0, 0.7], [0.0, 0.0, 0.0], [0.6, 0.0, 0.2]])
    assert torch.allclose(words, expected)
    assert maps.has_pieces.tolist() == [True, False, True]
    assert most_attended(words, maps.has_pieces).tolist() == [2, -1, 0]


def test_argmax_zeroes_self_and_breaks_ties_to_the_left():
    words = torch.tensor([
        [0.9, 0.05, 0.05],  # self zeroed: tie between 1 and 2 → 1
        [0.2, 0.1, 0.2],    # tie between 0 and 2 → 0
        [0.1, 0.6, 0.3],    # → 1
    ])
    everyone = torch.ones(3, dtype=torch.bool)
    assert most_attended(words, everyone).tolist() == [1, 0, 1]
    # the other direction: which word attends most to word j (column j, self zeroed)
    # col 0 = (0, .2, .1) → 1; col 1 = (.05, 0, .6) → 2; col 2 = (.05, .2, 0) → 1
    assert most_attended(words.mT, everyone).tolist() == [1, 2, 1]


def test_self_is_zeroed_not_excluded():
    # a word whose only other option also has 0 attention ties with its zeroed self: leftmost wins
    words = torch.tensor([[0.7, 0.0], [0.5, 0.5]])
    assert most_attended(words, torch.ones(2, dtype=torch.bool)).tolist() == [0, 0]


def test_batched_stack_matches_one_sentence_at_a_time():
    # sentence 0: the 5-token example; sentence 1: [CLS] a b c [SEP] → 3 one-piece words
    generator = torch.Generator().manual_seed(0)
    batch = torch.rand(2, 3, 4, 5, 5, generator=generator).softmax(-1)  # (B, L, nh, T, T)
    batch[0, 1, 2] = TOKENS
    pieces = [[(1, 2), (3,)], [(1,), (2,), (3,)]]
    ids = torch.stack([word_ids_from_pieces(p, 5) for p in pieces])
    maps = word_maps(ids, 3)
    assert maps.has_pieces.tolist() == [[True, True, False], [True, True, True]]
    words = word_attention(batch, maps)                                # (2, 3, 4, 3, 3)
    assert torch.allclose(words[0, 1, 2, :2, :2], WORDS)
    assert torch.all(words[0, ..., 2, :] == 0) and torch.all(words[0, ..., :, 2] == 0)  # padding word
    choice = most_attended(words, maps.has_pieces)                     # (2, 3, 4, 3)
    assert choice[0, ..., 2].eq(-1).all() and choice[0, ..., :2].lt(2).all()
    assert choice[0, 1, 2, :2].tolist() == [1, 0]
    for b in range(2):
        single = word_maps(word_ids_from_pieces(pieces[b], 5), len(pieces[b]))
        alone = word_attention(batch[b], single)
        n = len(pieces[b])
        assert torch.allclose(words[b, ..., :n, :n], alone)
        assert torch.equal(choice[b, ..., :n], most_attended(alone, single.has_pieces))
        assert torch.equal(most_attended(words.mT, maps.has_pieces)[b, ..., :n],
                           most_attended(alone.mT, single.has_pieces))


def test_pieces_of_a_real_tokenizer():
    from bert_core import default_checkpoint, encode_words, load_tokenizer

    tokenizer = load_tokenizer(default_checkpoint())
    enc = encode_words(tokenizer, ["Unbelievably", ",", "it", "works"])
    ids = word_ids_from_pieces([w.pieces for w in enc.words], len(enc))
    first = ids.tolist().index(0)
    assert enc.tokens[0] == "[CLS]" and ids[0] == -1 and ids[-1] == -1
    assert ids.tolist().count(0) == len(enc.words[0].pieces) > 1  # "unbelievably" is split
    assert enc.tokens[first + 1].startswith("##")
