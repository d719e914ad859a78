"""The answering side: prompts and chat templates, model loading, generation, `ask`.

Kept import-light: heavy libraries are imported inside the functions that need them.
"""
