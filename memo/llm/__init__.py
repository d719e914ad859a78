"""The model layer: chat templates, prompts, model and adapter loading, the local batched generator
and the one OpenAI-compatible client. Heavy libraries are imported inside the functions that need
them."""
