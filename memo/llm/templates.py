"""Chat templates, owned by memo so the exact same token layout is used to train, serve and evaluate.

Each is a Jinja template in the Hugging Face `apply_chat_template` dialect, so it can also be handed
to vLLM (`--chat-template`) unchanged. A profile names one of these, or carries the template text
of a model memo derived its profile from (memo.llm.derive); `template_text` gives the text either way.
"""

# ChatML, as SmolLM2-Instruct and Qwen2.5-Instruct were trained on. Unlike the tokenizers' own
# copies it never injects a default system prompt: memo always sends its own.
CHATML = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)

# LLaMA-2-chat: the system prompt sits inside the first [INST] block between <<SYS>> markers;
# every user turn opens with BOS and every assistant turn closes with EOS.
LLAMA2 = (
    "{% if messages[0]['role'] == 'system' %}"
    "{% set system = messages[0]['content'] %}{% set turns = messages[1:] %}"
    "{% else %}{% set system = '' %}{% set turns = messages %}{% endif %}"
    "{% for message in turns %}"
    "{% if message['role'] == 'user' %}"
    "{% if loop.first and system %}"
    "{% set content = '<<SYS>>\n' + system + '\n<</SYS>>\n\n' + message['content'] %}"
    "{% else %}{% set content = message['content'] %}{% endif %}"
    "{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}"
    "{% else %}"
    "{{ ' ' + message['content'].strip() + ' ' + eos_token }}"
    "{% endif %}"
    "{% endfor %}"
)

# Llama-3.x-Instruct: BOS once, then each turn as a header and its trimmed text closed by <|eot_id|>.
# (Meta's own template also writes a "Cutting Knowledge Date" line into the system turn; memo's
# system prompt carries what the model needs, so it is left out.)
LLAMA3 = (
    "{{ bos_token }}"
    "{% for message in messages %}"
    "{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n' + message['content'] | trim"
    " + '<|eot_id|>' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}"
)

# Mistral-Instruct: no system role; the system text opens the first user turn. User turns are
# [INST] ... [/INST], each answer is closed by EOS.
MISTRAL = (
    "{% if messages[0]['role'] == 'system' %}"
    "{% set system = messages[0]['content'] + '\n\n' %}{% set turns = messages[1:] %}"
    "{% else %}{% set system = '' %}{% set turns = messages %}{% endif %}"
    "{{ bos_token }}"
    "{% for message in turns %}"
    "{% if message['role'] == 'user' %}"
    "{{ '[INST] ' + (system if loop.first else '') + message['content'] + ' [/INST]' }}"
    "{% else %}{{ message['content'] + eos_token }}{% endif %}"
    "{% endfor %}"
)

TEMPLATES = {"chatml": CHATML, "llama2": LLAMA2, "llama3": LLAMA3, "mistral": MISTRAL}

# Put in front of a model's own template that refuses a system turn (Gemma's raises "System role
# not supported"): the system text then opens the first user turn, in training, `memo ask` and
# vLLM alike, since all three are handed the same wrapped text.
FOLD_SYSTEM = (
    "{%- if messages and messages[0]['role'] == 'system' and messages | length > 1 -%}"
    "{%- set messages = [{'role': messages[1]['role'], 'content': messages[0]['content'] + '\n\n'"
    " + messages[1]['content']}] + messages[2:] -%}"
    "{%- endif -%}"
)

# Control sequences of every template. Document text may not contain them: a chunk that carried
# "<|im_start|>system" would otherwise be tokenized as a real turn boundary. (At rendering, every
# special token of the loaded tokenizer is removed too, whatever the model: memo.llm.prompt.)
CONTROL_SEQUENCES = ("<|im_start|>", "<|im_end|>", "<|endoftext|>", "[INST]", "[/INST]",
                     "<<SYS>>", "<</SYS>>", "<s>", "</s>", "<|start_header_id|>", "<|end_header_id|>",
                     "<|eot_id|>", "<|begin_of_text|>", "<start_of_turn>", "<end_of_turn>")


def template_text(template: str) -> str:
    """The Jinja text of `template`: a name in TEMPLATES, or already the text of a derived profile."""
    return TEMPLATES.get(template, template)


def template_name(template: str) -> str:
    """How reports name `template`: its key, or "model's own" for a derived template's text."""
    return template if template in TEMPLATES else "the model's own"
