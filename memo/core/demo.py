"""The demo data that ships inside the package: the fictional Tidewell corpus and its questions."""

from pathlib import Path

DEMO_COMPANY = "Tidewell"
DEMO_ROOT = Path(__file__).resolve().parent.parent / "demo_corpus"
DEMO_CORPUS = DEMO_ROOT / "tidewell"
DEMO_EVAL = DEMO_ROOT / "tidewell-eval.jsonl"
DEMO_CANDIDATE = DEMO_ROOT / "candidate"  # a fictional backend engineer's résumé, notes and STAR stories
DEMO_BEHAVIOURAL = DEMO_ROOT / "tidewell-behavioural.jsonl"  # questions about the candidate's experience
