"""Chat templates, owned by memo so the exact same token layout is used to train, serve and evaluate.

Each is a Jinja template in the Hugging Face `apply_chat_template` dialect, so it can also be handed
to vLLM (`--chat-template`) unchanged.
"""

# ChatML, as SmolLM2-Instruct was trained on. Unlike the tokenizer's own copy it never injects a
# default system prompt: memo always sends its own.
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

TEMPLATES = {"chatml": CHATML, "llama2": LLAMA2}

# Control sequences of every template. Document text may not contain them: a chunk that carried
# "<|im_start|>system" would otherwise be tokenized as a real turn boundary.
CONTROL_SEQUENCES = ("<|im_start|>", "<|im_end|>", "<|endoftext|>", "[INST]", "[/INST]",
                     "<<SYS>>", "<</SYS>>", "<s>", "</s>")
