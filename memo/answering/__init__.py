"""`memo ask`: retrieve, pack the context window, prompt, generate, and check the citations."""
