"""app/batching.py: the length batching that the word-sense vectors and the syntax probe share."""
import torch

from app.batching import length_batches, pad_rows, padded_inputs


def test_batches_sort_by_length_and_respect_the_cost_limit():
    lengths = [30, 5, 12, 5, 40, 7, 12]
    batches = length_batches(lengths, batch_size=3, cost_limit=2 * 12 ** 2)
    assert sorted(i for batch in batches for i in batch) == list(range(len(lengths)))
    flat = [lengths[i] for batch in batches for i in batch]
    assert flat == sorted(lengths)
    for batch in batches:
        longest = max(lengths[i] for i in batch)
        assert len(batch) <= 3 and (len(batch) == 1 or len(batch) * longest ** 2 <= 2 * 12 ** 2)
    # 5, 5, 7 fit (3 × 49 ≤ 288); 12, 12 (2 × 144 = 288); then 30 and 40 alone, each over the limit by itself
    assert batches == [[1, 3, 5], [2, 6], [0], [4]]


def test_without_a_cost_limit_batches_are_the_sorted_order_cut_every_batch_size():
    lengths = [9, 3, 9, 1, 4, 3, 7, 2]
    order = [3, 7, 1, 5, 4, 6, 0, 2]       # by length; equal lengths (3, 3 and 9, 9) keep their input order
    assert length_batches(lengths, batch_size=3) == [order[0:3], order[3:6], order[6:8]]
    assert length_batches(lengths, batch_size=8) == [order]
    assert length_batches([], batch_size=4) == []


def test_padding_is_masked_in_segment_0_with_the_pad_id():
    ids, mask, types = padded_inputs([[101, 7, 102], [101, 102]], [[0, 0, 0], [0, 1]], pad_token_id=9)
    assert ids.tolist() == [[101, 7, 102], [101, 102, 9]]
    assert mask.tolist() == [[1, 1, 1], [1, 1, 0]] and types.tolist() == [[0, 0, 0], [0, 1, 0]]
    assert padded_inputs([[5], [5, 6]], pad_token_id=0)[2].tolist() == [[0, 0], [0, 0]]
    weights = pad_rows([torch.tensor([0.5, 0.5]), [1.0]], 0.0, torch.float32)
    assert weights.dtype == torch.float32 and weights.tolist() == [[0.5, 0.5], [1.0, 0.0]]
