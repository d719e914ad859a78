"""Tiny random chat models of four families, built in the tests with no download: a 2-layer model
of each architecture, a byte-level BPE tokenizer trained here with `tokenizers` on the demo
corpus, that family's special tokens, and a chat template written by the team in that family's
format (not copied from any model's files).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from memo.core.demo import DEMO_CORPUS

# Meta's format: a header per turn, <|eot_id|> after each, and a dated system header.
LLAMA3_STYLE = (
    "{{ bos_token }}"
    "{% if messages[0]['role'] == 'system' %}{% set system = messages[0]['content'] | trim %}"
    "{% set messages = messages[1:] %}{% else %}{% set system = '' %}{% endif %}"
    "{{ '<|start_header_id|>system<|end_header_id|>\n\nToday Date: 1 Jan 2026\n\n' + system + '<|eot_id|>' }}"
    "{% for m in messages %}"
    "{{ '<|start_header_id|>' + m['role'] + '<|end_header_id|>\n\n' + m['content'] | trim + '<|eot_id|>' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}"
)

# Mistral's [INST] format: the system text opens the user turn; EOS closes each answer.
MISTRAL_STYLE = (
    "{% if messages[0]['role'] == 'system' %}{% set sys = messages[0]['content'] + '\n\n' %}"
    "{% set loop_messages = messages[1:] %}{% else %}{% set sys = '' %}{% set loop_messages = messages %}{% endif %}"
    "{{ bos_token }}"
    "{% for m in loop_messages %}"
    "{% if m['role'] == 'user' %}{{ '[INST] ' + (sys if loop.first else '') + m['content'] + ' [/INST]' }}"
    "{% else %}{{ m['content'] + eos_token }}{% endif %}"
    "{% endfor %}"
)

# Qwen's ChatML, with the default system turn it adds when none is given.
QWEN_STYLE = (
    "{% if messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n' }}{% endif %}"
    "{% for m in messages %}{{ '<|im_start|>' + m['role'] + '\n' + m['content'] + '<|im_end|>\n' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)

# Gemma's turns, which refuse a system turn as Gemma's own template does.
GEMMA_STYLE = (
    "{{ bos_token }}"
    "{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}"
    "{% for m in messages %}{% set role = 'model' if m['role'] == 'assistant' else m['role'] %}"
    "{{ '<start_of_turn>' + role + '\n' + m['content'] | trim + '<end_of_turn>\n' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<start_of_turn>model\n' }}{% endif %}"
)


@dataclass(frozen=True)
class Family:
    name: str
    config: str  # the transformers config class
    specials: tuple[str, ...]
    bos: str
    eos: str
    pad: str
    template: str
    turn_end: str  # the token that closes an answer
    window: int


FAMILIES = {
    "llama3": Family("llama3", "LlamaConfig", ("<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>",
                     "<|end_header_id|>", "<|eot_id|>", "<|finetune_right_pad_id|>"), "<|begin_of_text|>",
                     "<|end_of_text|>", "<|finetune_right_pad_id|>", LLAMA3_STYLE, "<|eot_id|>", 131072),
    "mistral": Family("mistral", "MistralConfig", ("<unk>", "<s>", "</s>", "[INST]", "[/INST]"), "<s>", "</s>",
                      "</s>", MISTRAL_STYLE, "</s>", 32768),
    "qwen2": Family("qwen2", "Qwen2Config", ("<|endoftext|>", "<|im_start|>", "<|im_end|>"), "<|endoftext|>",
                    "<|im_end|>", "<|endoftext|>", QWEN_STYLE, "<|im_end|>", 32768),
    "gemma2": Family("gemma2", "Gemma2Config", ("<pad>", "<eos>", "<bos>", "<start_of_turn>", "<end_of_turn>"),
                     "<bos>", "<eos>", "<pad>", GEMMA_STYLE, "<end_of_turn>", 8192),
}


def corpus_lines() -> list[str]:
    lines = [line for f in sorted(DEMO_CORPUS.rglob("*.md")) for line in f.read_text(encoding="utf-8").splitlines()]
    return lines + ["Question: Answer: Document system user assistant model"] * 4


def build_tokenizer(family: Family, folder: Path):
    """A byte-level BPE tokenizer (any text encodes) with the family's special tokens and template."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=1000, special_tokens=list(family.specials), show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(corpus_lines(), trainer)
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token=family.bos, eos_token=family.eos,
                                        pad_token=family.pad, model_max_length=family.window)
    tokenizer.chat_template = family.template
    tokenizer.save_pretrained(folder)
    return tokenizer


def build_model(family: Family, folder: Path, seed: int = 0) -> Path:
    """The family's tiny random model and tokenizer saved in `folder`."""
    import torch
    import transformers

    tokenizer = build_tokenizer(family, folder)
    shape = dict(vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                 num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=family.window,
                 bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                 pad_token_id=tokenizer.pad_token_id)
    if family.name == "gemma2":
        shape.update(head_dim=16, query_pre_attn_scalar=16, sliding_window=256)
    config = getattr(transformers, family.config)(**shape)
    torch.manual_seed(seed)
    transformers.AutoModelForCausalLM.from_config(config).save_pretrained(folder)
    return folder
