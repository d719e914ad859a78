"""Batch-1 greedy decoding on the CPU without torch's per-token overhead: the LLaMA architecture
(SmolLM2's) re-expressed in numpy over the loaded model's own weights.

Why: at batch 1 every token reads all the weights once, so decoding is bound by memory bandwidth.
torch's CPU matrix-vector products reach ~8 GB/s here and its dynamic KV cache re-concatenates
every layer's keys each step (22% of a step), so SmolLM2-135M decoded at ~12 tokens/s against a
~77 tokens/s floor. OpenBLAS's matrix-vector product over weights stored input-major reaches
~24 GB/s, and a preallocated KV cache costs nothing per step (benchmarks/bench_decode.py).

Exactness: the same operations in the same float32 as transformers' eager LLaMA, but summed in
another order, so a greedy answer can leave the reference path where two tokens nearly tie; the
benchmark reports the agreement, and `LocalGenerator` uses this path only for greedy decoding.
Repetition penalty and memo's logits processors (the loop guard) run unchanged on views of
the numpy logits.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np

FORMAT = 1  # of `save`: the arrays below, input-major float32
LAYER_ARRAYS = ("in_norm", "post_norm", "qkv", "o", "gate_up", "down")


def supported(model) -> bool:
    """A plain LLaMA-architecture causal LM (SmolLM2, LLaMA-2) with default rotary embeddings and
    no biases, on the CPU in float32: what `NumpyLlama` computes exactly like transformers."""
    config = getattr(model, "config", None)
    if config is None or getattr(config, "model_type", "") != "llama":
        return False
    rope = getattr(config, "rope_parameters", None) or getattr(config, "rope_scaling", None) or {}
    if rope.get("rope_type", "default") != "default":
        return False
    if getattr(config, "attention_bias", False) or getattr(config, "mlp_bias", False):
        return False
    if getattr(config, "hidden_act", "silu") != "silu":
        return False
    weight = model.get_input_embeddings().weight
    return weight.device.type == "cpu" and str(weight.dtype) == "torch.float32"


class NumpyLlama:
    """The model's weights, transposed once to input-major float32 arrays (x @ W is OpenBLAS's
    fastest form here), and a forward pass that fills a preallocated KV cache."""

    def __init__(self, arrays: dict[str, np.ndarray], meta: dict):
        """From `arrays` as `from_model` lays them out (or as `load` maps them from disk)."""
        self.meta = meta
        self.heads, self.kv_heads, self.head_dim = meta["heads"], meta["kv_heads"], meta["head_dim"]
        self.eps = float(meta["eps"])
        self.inv_freq = (1.0 / float(meta["theta"]) ** (np.arange(0, self.head_dim, 2, dtype=np.int64)
                                                       .astype(np.float32) / self.head_dim)).astype(np.float32)
        self.arrays = arrays
        self.embed, self.lm_head, self.norm = arrays["embed"], arrays["lm_head"], arrays["norm"]
        self.layers = [{name: arrays[f"{i}.{name}"] for name in LAYER_ARRAYS} for i in range(meta["layers"])]
        # A prompt's matrix products in bfloat16 (generation.prefill_bf16, where the CPU has native
        # bf16): 2.3x float32's GEMM rate here, a 690-token prefill ~1.2 s -> 0.8-1.0 s, but 2 of
        # the 12 demo greedy answers then differ from transformers' (benchmarks/bench_decode.py).
        self.prefill_bf16 = False
        self._bf16: dict[int, object] = {}
        self.keys: list[np.ndarray] = []
        self.values: list[np.ndarray] = []
        self.length = 0

    @classmethod
    def from_model(cls, model) -> NumpyLlama:
        """The weights of a loaded transformers LLaMA (adapter merged), copied and transposed."""
        config = model.config
        state = {name: tensor.detach().float().numpy() for name, tensor in model.state_dict().items()}
        heads = config.num_attention_heads
        theta = (getattr(config, "rope_parameters", None) or {}).get("rope_theta") or getattr(config, "rope_theta", 1e4)
        meta = {"format": FORMAT, "heads": heads, "kv_heads": config.num_key_value_heads,
                "head_dim": getattr(config, "head_dim", None) or config.hidden_size // heads,
                "eps": float(config.rms_norm_eps), "theta": float(theta), "layers": config.num_hidden_layers}
        embed = state["model.embed_tokens.weight"]
        arrays = {"embed": embed, "lm_head": np.ascontiguousarray(state.get("lm_head.weight", embed).T),
                  "norm": state["model.norm.weight"]}
        for i in range(meta["layers"]):
            arrays.update({f"{i}.{name}": array for name, array in cls._layer(state, f"model.layers.{i}.").items()})
        return cls(arrays, meta)

    def save(self, folder: Path) -> None:
        """Write the arrays as .npy files (memory-mapped by `load`) and meta.json into `folder`."""
        folder.mkdir(parents=True)
        for name, array in self.arrays.items():
            np.save(folder / f"{name}.npy", np.ascontiguousarray(array))
        (folder / "meta.json").write_text(json.dumps(self.meta))

    @classmethod
    def load(cls, folder: Path) -> NumpyLlama:
        """The decoder `save` wrote, its weights memory-mapped read-only (no copy, shared by every
        process that maps them). ValueError when the folder is not a complete save of this format."""
        try:
            meta = json.loads((folder / "meta.json").read_text())
            if meta.get("format") != FORMAT:
                raise ValueError(f"format {meta.get('format')}, not {FORMAT}")
            names = ["embed", "lm_head", "norm"] + [f"{i}.{n}" for i in range(meta["layers"]) for n in LAYER_ARRAYS]
            arrays = {name: np.load(folder / f"{name}.npy", mmap_mode="r") for name in names}
        except (OSError, KeyError, json.JSONDecodeError) as exc:
            raise ValueError(f"{folder}: not a fast-decode save ({exc})") from None
        return cls(arrays, meta)

    @staticmethod
    def _layer(state: dict, prefix: str) -> dict:
        def joined(*names: str) -> np.ndarray:
            return np.ascontiguousarray(np.concatenate([state[prefix + n] for n in names], axis=0).T)

        return {"in_norm": state[prefix + "input_layernorm.weight"],
                "post_norm": state[prefix + "post_attention_layernorm.weight"],
                "qkv": joined("self_attn.q_proj.weight", "self_attn.k_proj.weight", "self_attn.v_proj.weight"),
                "o": np.ascontiguousarray(state[prefix + "self_attn.o_proj.weight"].T),
                "gate_up": joined("mlp.gate_proj.weight", "mlp.up_proj.weight"),
                "down": np.ascontiguousarray(state[prefix + "mlp.down_proj.weight"].T)}

    def reset(self, capacity: int) -> None:
        """Empty KV cache for `capacity` tokens (the arrays of the previous one are left to whoever
        kept them: `cache()` hands them to a batch)."""
        # keys are stored transposed (head, dim, position), so that q @ keys is a plain BLAS product
        self.keys = [np.zeros((self.kv_heads, self.head_dim, capacity), np.float32) for _ in self.layers]
        self.values = [np.zeros((self.kv_heads, capacity, self.head_dim), np.float32) for _ in self.layers]
        self.length = 0

    def cache(self) -> KVCache:
        """The sequence just prefilled by `forward`, for `forward_batch`."""
        return KVCache(self.keys, self.values, self.length)

    def _rms(self, x: np.ndarray, weight: np.ndarray) -> np.ndarray:
        return weight * (x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + self.eps))

    def _rotary(self, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        freqs = np.outer(positions.astype(np.float32), self.inv_freq)
        angles = np.concatenate([freqs, freqs], axis=-1)
        return np.cos(angles)[:, None, :], np.sin(angles)[:, None, :]

    @staticmethod
    def _rotate(x: np.ndarray, cos: np.ndarray, sin: np.ndarray) -> np.ndarray:
        half = x.shape[-1] // 2
        rotated = np.concatenate([-x[..., half:], x[..., :half]], axis=-1)
        return x * cos + rotated * sin

    def forward(self, ids: list[int]) -> np.ndarray:
        """Append `ids` to the cache and return the logits of the last one."""
        start, count = self.length, len(ids)
        if start + count > self.values[0].shape[1]:
            raise ValueError("the KV cache is full")
        cos, sin = self._rotary(np.arange(start, start + count))
        mask = None
        if count > 1 and start:  # causal: query i sees the keys up to position start + i
            future = np.arange(start + count)[None, :] > (start + np.arange(count))[:, None]
            mask = np.where(future, np.float32(-np.inf), np.float32(0.0))
        hidden = self.embed[np.asarray(ids)]
        mm = self._prefill_matmul if count > 1 else np.matmul  # a prompt: matrix products; a token: OpenBLAS GEMV
        for layer, keys, values in zip(self.layers, self.keys, self.values):
            x = self._rms(hidden, layer["in_norm"])
            hidden = hidden + self._attention(layer, x, keys, values, (cos, sin), mask, mm)
            x = mm(self._rms(hidden, layer["post_norm"]), layer["gate_up"])
            gate, up = np.split(x, 2, axis=-1)
            hidden = hidden + mm((gate / (1.0 + np.exp(-gate))) * up, layer["down"])
        self.length += count
        return self._rms(hidden[-1:], self.norm)[0] @ self.lm_head

    def _attention(self, layer: dict, x: np.ndarray, keys: np.ndarray, values: np.ndarray,
                   rotary: tuple[np.ndarray, np.ndarray], mask: np.ndarray | None, mm=np.matmul) -> np.ndarray:
        count, d, h, kv = x.shape[0], self.head_dim, self.heads, self.kv_heads
        cos, sin = rotary
        qkv = mm(x, layer["qkv"])
        q = self._rotate(qkv[:, :h * d].reshape(count, h, d), cos, sin)
        k = self._rotate(qkv[:, h * d:(h + kv) * d].reshape(count, kv, d), cos, sin)
        start, end = self.length, self.length + count
        keys[:, :, start:end] = k.transpose(1, 2, 0)
        values[:, start:end] = qkv[:, (h + kv) * d:].reshape(count, kv, d).transpose(1, 0, 2)
        if start == 0 and count > 1:
            out = _causal_attention(q, keys[:, :, :end], values[:, :end])
        else:
            out = self._cached_attention(q, keys[:, :, :end], values[:, :end], mask)
        return mm(out.reshape(count, h * d), layer["o"])

    def _prefill_matmul(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """A prompt's `a @ b` by torch: in float32, or with `prefill_bf16` in bfloat16 (the weights
        converted once), returned in float32. Decoding stays float32 either way."""
        if not self.prefill_bf16:
            return _torch_matmul(a, b)
        import torch

        weights = self._bf16.get(id(b))
        if weights is None:
            weights = self._bf16[id(b)] = _as_tensor(b).to(torch.bfloat16)
        return (torch.from_numpy(np.ascontiguousarray(a)).to(torch.bfloat16) @ weights).float().numpy()

    def forward_batch(self, tokens: list[int], caches: list[KVCache]) -> np.ndarray:
        """One new token for each of several sequences, each with its own cache and position:
        the weight products run once for all of them (one read of the weights serves the batch),
        attention runs per sequence. Returns the logits, one row per sequence."""
        positions = np.asarray([cache.length for cache in caches])
        if any(cache.length >= cache.values[0].shape[1] for cache in caches):
            raise ValueError("the KV cache is full")
        rotary = self._rotary(positions)
        hidden = self.embed[np.asarray(tokens)]
        for index, layer in enumerate(self.layers):
            x = self._rms(hidden, layer["in_norm"])
            hidden = hidden + self._batch_attention(index, layer, x, caches, rotary)
            x = self._rms(hidden, layer["post_norm"]) @ layer["gate_up"]
            gate, up = np.split(x, 2, axis=-1)
            hidden = hidden + ((gate / (1.0 + np.exp(-gate))) * up) @ layer["down"]
        for cache in caches:
            cache.length += 1
        return self._rms(hidden, self.norm) @ self.lm_head

    def _batch_attention(self, index: int, layer: dict, x: np.ndarray, caches: list[KVCache],
                         rotary: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        batch, d, h, kv = x.shape[0], self.head_dim, self.heads, self.kv_heads
        cos, sin = rotary
        qkv = x @ layer["qkv"]
        q = self._rotate(qkv[:, :h * d].reshape(batch, h, d), cos, sin)
        k = self._rotate(qkv[:, h * d:(h + kv) * d].reshape(batch, kv, d), cos, sin)
        v = qkv[:, (h + kv) * d:].reshape(batch, kv, d)
        out = np.empty((batch, h, d), np.float32)
        for row, cache in enumerate(caches):
            keys, values, position = cache.keys[index], cache.values[index], cache.length
            keys[:, :, position] = k[row]
            values[:, position] = v[row]
            out[row] = self._cached_attention(q[row:row + 1], keys[:, :, :position + 1],
                                              values[:, :position + 1], None).reshape(h, d)
        return out.reshape(batch, h * d) @ layer["o"]

    def _cached_attention(self, q: np.ndarray, keys: np.ndarray, values: np.ndarray,
                          mask: np.ndarray | None) -> np.ndarray:
        """Attention of queries (count, head, dim) to the cached keys (kv, dim, end) and values."""
        count, h, d = q.shape
        kv, end = keys.shape[0], keys.shape[2]
        group = h // kv  # query heads per key/value head
        q = q.reshape(count, kv, group, d).transpose(1, 2, 0, 3).reshape(kv, group * count, d)
        scores = (q @ keys) * np.float32(d ** -0.5)
        if mask is not None:
            scores.reshape(kv, group, count, end)[...] += mask
        scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
        scores /= scores.sum(axis=-1, keepdims=True)
        return (scores @ values).reshape(kv, group, count, d).transpose(2, 0, 1, 3)


def _as_tensor(array: np.ndarray):
    """A torch view of a weight array (shared, not copied)."""
    import warnings

    import torch

    with warnings.catch_warnings():  # memory-mapped weights are read-only; torch only reads them
        warnings.simplefilter("ignore", UserWarning)
        return torch.from_numpy(array)


def _torch_matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a @ b by torch (a prompt's matrix products: its GEMM ran a 690-token prefill in 1.16 s
    where OpenBLAS took 1.76 s here)."""
    import torch

    return (torch.from_numpy(np.ascontiguousarray(a)) @ _as_tensor(b)).numpy()


def _causal_attention(q: np.ndarray, keys: np.ndarray, values: np.ndarray) -> np.ndarray:
    """A whole prompt's causal attention by torch's fused kernel (what transformers' LLaMA runs;
    numpy's softmax over every score took 1.4 of a 700-token prompt's 2.4 s)."""
    import torch
    import torch.nn.functional as F

    query = torch.from_numpy(q).transpose(0, 1)[None]  # (1, head, count, dim)
    key = torch.from_numpy(keys).transpose(1, 2)[None].contiguous()
    value = torch.from_numpy(values)[None]
    with torch.inference_mode():
        out = F.scaled_dot_product_attention(query, key, value, is_causal=True, enable_gqa=True)
    return out[0].transpose(0, 1).numpy()


class KVCache:
    """One sequence's keys and values (one array of each per layer) and its length so far."""

    def __init__(self, keys: list[np.ndarray], values: list[np.ndarray], length: int):
        self.keys, self.values, self.length = keys, values, length


class _Sequence:
    """One prompt being answered greedily: its ids so far, transformers' repetition penalty over
    every id seen (prompt included), then its logits processors, as `generate` applies them."""

    def __init__(self, prompt: list[int], repetition_penalty: float, processors, stop_ids: list[int]):
        self.prompt_length = len(prompt)
        self.ids, self.seen = list(prompt), np.unique(np.asarray(prompt))
        self.penalty, self.processors, self.stop_ids = repetition_penalty, processors, stop_ids
        self.cache: KVCache | None = None

    def pick(self, logits: np.ndarray) -> int:
        """The next token from this step's logits (edited in place), appended to the ids."""
        if self.penalty != 1.0:
            penalized = logits[self.seen]
            logits[self.seen] = np.where(penalized < 0, penalized * np.float32(self.penalty),
                                         penalized / np.float32(self.penalty))
        token = _pick(logits, self.ids, self.processors)
        self.ids.append(token)
        self.seen = np.union1d(self.seen, [token])
        return token

    @property
    def new(self) -> list[int]:
        return self.ids[self.prompt_length:]


def greedy(model: NumpyLlama, prompt: list[int], max_new_tokens: int, stop_ids: list[int],
           repetition_penalty: float = 1.0, processors: list = (),
           on_token: Callable[[int], None] | None = None) -> list[int]:
    """Greedy decoding of up to `max_new_tokens` after `prompt`, ending on a stop id (kept, as
    transformers does). Each step's logits get transformers' repetition penalty (every id seen so
    far, prompt included), then each of `processors` (transformers LogitsProcessors) in order,
    as `generate` applies them."""
    import torch

    threads = torch.get_num_threads()
    try:
        model.reset(len(prompt) + max_new_tokens)
        logits = model.forward(prompt)  # torch's matrix products, all its threads
        torch.set_num_threads(1)  # then torch's idle OpenMP workers would spin against OpenBLAS's
        sequence = _Sequence(prompt, repetition_penalty, processors, stop_ids)
        for _ in range(max_new_tokens):
            token = sequence.pick(logits)
            if on_token is not None:
                on_token(token)
            if token in stop_ids:
                break
            logits = model.forward([token])
    finally:
        torch.set_num_threads(threads)
    return sequence.new


def greedy_batch(model: NumpyLlama, prompts: list[list[int]], max_new_tokens: int, stop_ids: list[int],
                 repetition_penalty: float = 1.0, processors: list[list] | None = None) -> list[list[int]]:
    """`greedy` for several prompts at once: each prompt is prefilled alone (no padding), then
    one `forward_batch` per step decodes every unfinished answer together. `processors` holds one
    list per prompt. Each answer is the one `greedy` gives but for float summation order (a
    matrix product instead of a matrix-vector one), which can flip a near tie."""
    import torch

    threads = torch.get_num_threads()
    try:
        active, logits = [], []
        for i, prompt in enumerate(prompts):
            sequence = _Sequence(prompt, repetition_penalty, processors[i] if processors else [], stop_ids)
            model.reset(len(prompt) + max_new_tokens)
            logits.append(model.forward(prompt))
            sequence.cache = model.cache()
            active.append(sequence)
        torch.set_num_threads(1)
        done = list(active)
        for step in range(max_new_tokens):
            tokens = [sequence.pick(row) for sequence, row in zip(active, logits)]
            keep = [i for i, token in enumerate(tokens) if token not in stop_ids]
            active, tokens = [active[i] for i in keep], [tokens[i] for i in keep]
            if not active or step == max_new_tokens - 1:
                break
            logits = model.forward_batch(tokens, [sequence.cache for sequence in active])
    finally:
        torch.set_num_threads(threads)
    return [sequence.new for sequence in done]


def _pick(logits: np.ndarray, ids: list[int], processors) -> int:
    """The argmax after `processors` (which edit the logits in place through a torch view)."""
    import torch

    if not processors:
        return int(np.argmax(logits))
    scores = torch.from_numpy(logits[None, :])
    input_ids = torch.tensor([ids])
    for processor in processors:
        scores = processor(input_ids, scores)
    return int(torch.argmax(scores[0]))
