"""BERT in one file: embeddings, self-attention, encoder, pooler and pre-training heads.

The same file runs the BERT family through config switches (config.py): RoBERTa's offset positions,
DistilBERT's missing segments, ALBERT's and ELECTRA's factorised embeddings (E → H projection),
ALBERT's one set of layer weights applied L times; and their pre-training heads (masked LM;
next-sentence or sentence-order; ELECTRA's replaced-token detection). Each family's own weight names
map onto these modules in weights.py.

This model is for looking inside, not for training: attention-probability dropout is left out.
Module and attribute names follow Hugging Face's modeling_bert.py, so checkpoints map one to one
and BERT users find what they know. Every forward can expose what happens inside (embedding
parts, per-layer Q/K/V, scores, attention probabilities, hidden states); when nothing is asked
for, attention runs through PyTorch's fused scaled_dot_product_attention kernel.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .config import BertConfig
from .outputs import BertModelOutput, EmbeddingParts, LayerIntermediates


def gelu_tanh(x: torch.Tensor) -> torch.Tensor:
    return F.gelu(x, approximate="tanh")


ACT_FN = {"gelu": F.gelu, "gelu_new": gelu_tanh, "gelu_pytorch_tanh": gelu_tanh,
          "relu": F.relu, "silu": F.silu, "swish": F.silu}


def attention_probabilities(q, k, mask):
    """softmax(QKᵀ/√hd + mask) for q, k: (B, nh, T, hd); mask: additive (B, 1, 1, T) or None.

    Returns (probs, scores), both (B, nh, T, T); rows of probs sum to 1.
    """
    # baddbmm with alpha=1/√hd measured slower on the CPU and is not bit-exact, so: bmm, then
    # scale in place. matmul hands these strided heads to bmm without copying when B == 1; for
    # B > 1 it copies q and k to fold (B, nh) into one batch dimension (as transformers does).
    scores = q @ k.transpose(-1, -2)               # (B, nh, T, T)
    scores.mul_(1.0 / math.sqrt(q.shape[-1]))      # / √hd, in place: no extra T² buffer
    if mask is not None:
        scores.add_(mask)                          # padded keys get dtype-min, so softmax gives them 0
    return scores.softmax(dim=-1), scores


def attention(q, k, v, mask, want_probs: bool):
    """Scaled dot-product attention. q, k, v: (B, nh, T, hd); mask: additive (B, 1, 1, T) or None.

    Returns (context, probs, scores); probs and scores are None on the fused path.
    """
    if not want_probs:
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask), None, None
    probs, scores = attention_probabilities(q, k, mask)
    return probs @ v, probs, scores                # context (B, nh, T, hd)


def additive_mask(attention_mask, dtype):
    """(B, T) of 1 (token) / 0 (padding) → (B, 1, 1, T): 0 for tokens, the dtype's minimum for padding;
    None when nothing is padded (the fused kernel is fastest without a mask)."""
    if attention_mask is None or bool(attention_mask.all()):
        return None
    return (1.0 - attention_mask[:, None, None, :].to(dtype)) * torch.finfo(dtype).min


def sinusoidal_positions(n_positions: int, dim: int) -> torch.Tensor:
    """(n_positions, dim) fixed position table of Vaswani et al.: sin on even dimensions, cos on odd ones."""
    position = torch.arange(n_positions, dtype=torch.float64)[:, None]
    rate = torch.pow(10000.0, 2 * (torch.arange(dim, dtype=torch.float64) // 2) / dim)  # (dim,) 10000^(2⌊j/2⌋/dim)
    angle = position / rate                                                 # (n, dim)
    table = torch.empty(n_positions, dim, dtype=torch.float64)
    table[:, 0::2], table[:, 1::2] = angle[:, 0::2].sin(), angle[:, 1::2].cos()
    return table.float()


def position_ids(input_ids, config: BertConfig):
    """(B, T) position index of each token: 0…T-1, or RoBERTa's: pad_token_id+1… for real tokens and
    pad_token_id (the padding row) for padding."""
    if config.position_offset == 0:
        return torch.arange(input_ids.shape[1], device=input_ids.device).expand_as(input_ids)
    real = input_ids.ne(config.pad_token_id).long()
    return real.cumsum(dim=1) * real + config.pad_token_id


class BertEmbeddings(nn.Module):
    """token + segment + position, LayerNorm; then E → H when the embeddings are factorised (ALBERT, ELECTRA)."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.config = config
        E = config.embedding_width
        self.word_embeddings = nn.Embedding(config.vocab_size, E, padding_idx=config.pad_token_id)
        self.position_embeddings = nn.Embedding(config.max_position_embeddings, E)
        if config.sinusoidal_pos_embds:  # fixed, not learned: filled by _init_weights; loading overwrites it with
            self.position_embeddings.weight.requires_grad_(False)  # the checkpoint's own table where it has one
        self.token_type_embeddings = nn.Embedding(config.type_vocab_size, E) if config.type_vocab_size else None
        self.LayerNorm = nn.LayerNorm(E, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)
        self.projection = nn.Linear(E, config.hidden_size) if config.projects_embeddings else None

    def forward(self, input_ids, token_type_ids, output_parts: bool):
        T = input_ids.shape[1]
        if T > self.config.max_tokens:
            raise ValueError(f"{T} tokens, but the model has {self.config.max_tokens} positions: "
                             "truncate the input (bert_core.encode does)")
        token = self.word_embeddings(input_ids)                              # (B, T, E)
        if self.token_type_embeddings is None:
            segment = torch.zeros_like(token)  # DistilBERT: no segments; token_type_ids ignored, as transformers does
        elif token_type_ids is None:
            segment = self.token_type_embeddings.weight[0].expand_as(token)  # everyone in segment A
        elif int(token_type_ids.max()) >= self.token_type_embeddings.num_embeddings:
            raise ValueError(f"segment id {int(token_type_ids.max())}, but the model has "
                             f"{self.token_type_embeddings.num_embeddings} segment embedding(s): give one sentence")
        else:
            segment = self.token_type_embeddings(token_type_ids)             # (B, T, E)
        if self.config.position_offset:
            position = self.position_embeddings(position_ids(input_ids, self.config))  # (B, T, E)
        else:
            position = self.position_embeddings.weight[:T].expand_as(token)  # (B, T, E), positions 0…T-1
        summed = token + segment + position
        normalized = self.LayerNorm(summed)
        out = self.dropout(normalized)
        projected = self.projection(out) if self.projection is not None else None  # (B, T, H)
        parts = EmbeddingParts(token, segment, position, summed, normalized, projected) if output_parts else None
        return (out if projected is None else projected), parts


class BertSelfAttention(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.num_attention_heads = config.num_attention_heads
        self.attention_head_size = config.head_dim
        self.query = nn.Linear(config.hidden_size, config.hidden_size)
        self.key = nn.Linear(config.hidden_size, config.hidden_size)
        self.value = nn.Linear(config.hidden_size, config.hidden_size)

    def split_heads(self, x):
        B, T, _ = x.shape
        return x.view(B, T, self.num_attention_heads, self.attention_head_size).transpose(1, 2)  # (B, nh, T, hd)

    def forward(self, x, mask, head_mask, want_probs: bool):
        # Three matmuls, not one on a stacked (3H, H) weight: stacking measured no faster here
        # (the matmuls are the same work) and a stacked copy must be kept in step with the three
        # parameters, which in-place edits and inference-mode tensors make fragile.
        q = self.split_heads(self.query(x))
        k = self.split_heads(self.key(x))
        v = self.split_heads(self.value(x))
        context, probs, scores = attention(q, k, v, mask, want_probs)
        if head_mask is not None:                   # (nh,) of 0/1: switch heads off
            context = context * head_mask.view(1, -1, 1, 1)
            if probs is not None:
                probs = probs * head_mask.view(1, -1, 1, 1)
        return context, probs, (q, k, v, scores)


class BertSelfOutput(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, context, residual):
        return self.LayerNorm(self.dropout(self.dense(context)).add_(residual))  # in place on the fresh projection


class BertAttention(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.self = BertSelfAttention(config)
        self.output = BertSelfOutput(config)


class BertIntermediate(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.intermediate_size)
        self.intermediate_act_fn = ACT_FN[config.hidden_act]

    def forward(self, x):
        return self.intermediate_act_fn(self.dense(x))


class BertOutput(nn.Module):
    """The feed-forward's down projection, residual and LayerNorm (HF's name for it)."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.dense = nn.Linear(config.intermediate_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, x, residual):
        return self.LayerNorm(self.dropout(self.dense(x)).add_(residual))


class BertLayer(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.attention = BertAttention(config)
        self.intermediate = BertIntermediate(config)
        self.output = BertOutput(config)

    def forward(self, x, mask, head_mask, want_probs: bool, want_intermediates: bool):
        B, T, H = x.shape
        context, probs, (q, k, v, scores) = self.attention.self(x, mask, head_mask, want_probs)
        merged = context.transpose(1, 2).reshape(B, T, H)     # concatenate the heads
        attention_output = self.attention.output(merged, x)
        out = self.output(self.intermediate(attention_output), attention_output)
        record = (LayerIntermediates(q, k, v, scores, context, attention_output)
                  if want_intermediates else None)
        return out, probs, record


class BertEncoder(nn.Module):
    """num_hidden_layers layers; with ALBERT's weight sharing, layer i is group ⌊i·G/L⌋'s one layer,
    the same module object at several indices (parameters counted once)."""

    def __init__(self, config: BertConfig):
        super().__init__()
        groups = [BertLayer(config) for _ in range(config.layer_groups)]
        L, G = config.num_hidden_layers, config.layer_groups
        self.layer = nn.ModuleList(groups[i * G // L] for i in range(L))


class BertPooler(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)

    def forward(self, hidden_states):
        return torch.tanh(self.dense(hidden_states[:, 0]))  # the [CLS] token


class BertPredictionHeadTransform(nn.Module):
    """H → E, activation, LayerNorm: back to the width of the word embeddings the decoder is tied to."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.embedding_width)
        self.transform_act_fn = ACT_FN[config.mlm_act]
        self.LayerNorm = nn.LayerNorm(config.embedding_width, eps=config.layer_norm_eps)

    def forward(self, x):
        return self.LayerNorm(self.transform_act_fn(self.dense(x)))


class BertLMPredictionHead(nn.Module):
    """Masked-LM head; its decoder shares the word-embedding matrix (set by BertModel)."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.transform = BertPredictionHeadTransform(config)
        self.bias = nn.Parameter(torch.zeros(config.vocab_size))

    def forward(self, hidden_states, word_embeddings: torch.Tensor):
        return F.linear(self.transform(hidden_states), word_embeddings, self.bias)  # (B, T, vocab)


class ElectraDiscriminatorPredictions(nn.Module):
    """ELECTRA's replaced-token detection: one score per token, > 0 means "replaced"."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.activation = ACT_FN[config.hidden_act]
        self.dense_prediction = nn.Linear(config.hidden_size, 1)

    def forward(self, hidden_states):
        return self.dense_prediction(self.activation(self.dense(hidden_states))).squeeze(-1)  # (B, T)


class BertPreTrainingHeads(nn.Module):
    """The heads a checkpoint may carry: masked LM; a sentence-pair head on the pooler (BERT's
    next-sentence, ALBERT's sentence-order prediction); ELECTRA's replaced-token detection."""

    def __init__(self, config: BertConfig, mlm: bool, nsp: bool, rtd: bool = False):
        super().__init__()
        self.predictions = BertLMPredictionHead(config) if mlm else None
        self.seq_relationship = nn.Linear(config.hidden_size, 2) if nsp else None
        self.discriminator_predictions = ElectraDiscriminatorPredictions(config) if rtd else None


class BertModel(nn.Module):
    """The BERT encoder with its optional pooler and pre-training heads.

    forward() takes Hugging Face's keyword arguments, so `model(**tokenizer(...))` works.
    The heads run only when asked: `mlm_logits(last_hidden_state)`, `nsp_logits(pooler_output)`.
    """

    def __init__(self, config: BertConfig, *, pooler: bool = True, mlm_head: bool = False,
                 nsp_head: bool = False, rtd_head: bool = False):
        super().__init__()
        if nsp_head and not pooler:
            raise ValueError("the next-sentence head reads the pooler output: it needs the pooler")
        self.config = config
        self.embeddings = BertEmbeddings(config)
        self.encoder = BertEncoder(config)
        self.pooler = BertPooler(config) if pooler else None
        self.cls = BertPreTrainingHeads(config, mlm_head, nsp_head, rtd_head)
        self.apply(self._init_weights)

    def _init_weights(self, module):
        std = self.config.initializer_range
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, std=std)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)
        if isinstance(module, nn.LayerNorm):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)
        if isinstance(module, BertEmbeddings) and self.config.sinusoidal_pos_embds:
            with torch.no_grad():
                module.position_embeddings.weight.copy_(sinusoidal_positions(*module.position_embeddings.weight.shape))

    @property
    def heads(self) -> tuple[str, ...]:
        """Which optional parts this model has: any of 'pooler', 'mlm', 'nsp' (ALBERT's sentence-pair
        head is 'sop', sentence-order prediction), 'rtd' (ELECTRA's replaced-token detection)."""
        pair = "sop" if self.config.model_type == "albert" else "nsp"
        present = {"pooler": self.pooler, "mlm": self.cls.predictions, pair: self.cls.seq_relationship,
                   "rtd": self.cls.discriminator_predictions}
        return tuple(name for name, part in present.items() if part is not None)

    @property
    def device(self) -> torch.device:
        """Where the weights are (the model is moved as a whole, so any parameter tells)."""
        return self.embeddings.word_embeddings.weight.device

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
                token_type_ids: torch.Tensor | None = None, *, head_mask: torch.Tensor | None = None,
                output_attentions: bool = False, output_hidden_states: bool = False,
                output_embeddings: bool = False, output_intermediates: bool = False) -> BertModelOutput:
        """input_ids, attention_mask, token_type_ids: (B, T). head_mask: (L, nh) of 0/1."""
        x, parts = self.embeddings(input_ids, token_type_ids, output_embeddings)
        mask = additive_mask(attention_mask, x.dtype)
        want_probs = output_attentions or output_intermediates
        hidden_states, attentions, records = [x], [], []
        for i, layer in enumerate(self.encoder.layer):
            x, probs, record = layer(x, mask, None if head_mask is None else head_mask[i],
                                     want_probs, output_intermediates)
            hidden_states.append(x)
            attentions.append(probs)
            records.append(record)
        return BertModelOutput(
            last_hidden_state=x,
            pooler_output=self.pooler(x) if self.pooler is not None else None,
            hidden_states=tuple(hidden_states) if output_hidden_states else None,
            attentions=tuple(attentions) if output_attentions else None,
            embeddings=parts,
            intermediates=tuple(records) if output_intermediates else None,
        )

    def attention_probabilities(self, layer_input: torch.Tensor, layer: int,
                                attention_mask: torch.Tensor | None = None) -> torch.Tensor:
        """(B, nh, T, T): the attention of layer `layer` (0-based) for its input, which is
        hidden_states[layer] of a forward with output_hidden_states=True. Equal, up to float
        rounding, to that forward's attentions[layer] with output_attentions=True, so a forward
        on the fused kernel plus this, for the layers someone looks at, shows the same maps."""
        self_attention = self.encoder.layer[layer].attention.self
        q = self_attention.split_heads(self_attention.query(layer_input))
        k = self_attention.split_heads(self_attention.key(layer_input))
        return attention_probabilities(q, k, additive_mask(attention_mask, layer_input.dtype))[0]

    def mlm_logits(self, last_hidden_state: torch.Tensor) -> torch.Tensor:
        """(B, T, vocab) masked-word scores; raises if the checkpoint has no MLM head."""
        if self.cls.predictions is None:
            raise ValueError("this checkpoint has no masked-LM head")
        return self.cls.predictions(last_hidden_state, self.embeddings.word_embeddings.weight)

    def nsp_logits(self, pooler_output: torch.Tensor) -> torch.Tensor:
        """(B, 2) sentence-pair scores, index 0: B follows A. BERT's next-sentence head ('nsp': B is
        A's next sentence rather than a random one) or ALBERT's sentence-order head ('sop': A, B in
        their original order rather than swapped). Raises if the checkpoint has neither."""
        if self.cls.seq_relationship is None:
            raise ValueError("this checkpoint has no next-sentence or sentence-order head")
        return self.cls.seq_relationship(pooler_output)

    def rtd_logits(self, last_hidden_state: torch.Tensor) -> torch.Tensor:
        """(B, T) ELECTRA replaced-token scores (> 0: the discriminator thinks the token was replaced)."""
        if self.cls.discriminator_predictions is None:
            raise ValueError("this checkpoint has no replaced-token-detection head (discriminator_predictions.*)")
        return self.cls.discriminator_predictions(last_hidden_state)
