"""Fine-tuning: RAFT data synthesis (`memo synth`) and LoRA training (`memo train`)."""
