"""The bench's arms: the four ways `memo ask` answers, plus RAFT's DSF pair.

    base     the model alone                    rag      the model phrasing the selected evidence
    extractive  the selected evidence said by rules, no model (memo ask's default)
    ft       the --adapter alone                hybrid   the --adapter with retrieval
    dsf      the --dsf-adapter alone            dsf+rag  the --dsf-adapter with retrieval

The DSF adapter is trained on the same synthesized Q&A without documents (`memo train --dsf`):
RAFT's table (Zhang et al. 2024) compares exactly these five of them (base, rag, dsf, dsf+rag,
hybrid = RAFT), and its lesson is that dsf+rag can lose to dsf while training with documents
makes the combination win.
"""

from __future__ import annotations

ARMS = ("base", "extractive", "rag", "ft", "hybrid", "dsf", "dsf+rag")
DEFAULT_ARMS = ("base", "extractive", "rag", "ft", "hybrid")
RETRIEVAL_ARMS = ("extractive", "rag", "hybrid", "dsf+rag")
ADAPTER_ARMS = ("ft", "hybrid")  # answered by --adapter
DSF_ARMS = ("dsf", "dsf+rag")  # answered by --dsf-adapter
_MODE = {"dsf": "ft", "dsf+rag": "hybrid"}  # the `memo ask` mode each DSF arm answers in


def mode_of(arm: str) -> str:
    """The `memo ask` mode (prompt and adapter use) an arm answers in."""
    return _MODE.get(arm, arm)


def tuned(arm: str) -> bool:
    """Whether an adapter answers this arm."""
    return arm in ADAPTER_ARMS or arm in DSF_ARMS
