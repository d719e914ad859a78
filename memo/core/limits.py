"""What vLLM can serve, in one place: `memo train` refuses to produce anything else and
`memo serve`/`memo doctor` refuse to launch with it.
"""

MAX_RANK = 64  # vLLM's --max-lora-rank tops out at 64 for most builds; memo refuses more
RANK_SIZES = (8, 16, 32, 64)  # the values vLLM's --max-lora-rank accepts, up to MAX_RANK
FORBIDDEN_TARGETS = ("embed_tokens", "lm_head")  # vLLM's LoRA cannot serve trained copies of these
ADDED_TOKEN_FILES = ("added_tokens.json", "new_embeddings.safetensors")  # vLLM serves no new tokens
