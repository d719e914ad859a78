"""Serving: launching vLLM's OpenAI-compatible server with LoRA adapters, and the adapter checks
`memo serve` and `memo doctor` run before launching."""
