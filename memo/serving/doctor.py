"""`memo doctor`: the model's profile (derived from its files for `--llm` without `--profile`), and
the checks `memo serve` runs before launching vLLM, as a report.

For each adapter: a LoRA adapter, rank within vLLM's limit, no modules_to_save, no trained
embeddings or lm_head, no added tokens, trained on this base model, and the same chat template as
in training; whether a vLLM environment is there; and whether the index's local store is whole
(memo.ingestion.store_check, the check every command runs before opening it).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from memo.core.config import Settings
from memo.core.errors import MemoError
from memo.ingestion.store import REPAIR_HINT, store_damage
from memo.llm.derive import describe
from memo.serving.adapter_checks import Check, plan_adapters
from memo.serving.serve import find_vllm_python


@dataclass
class DoctorReport:
    base: str
    checks: list[Check]
    profile: dict = field(default_factory=dict)  # memo.llm.derive.describe

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    def as_dict(self) -> dict:
        return {"base": self.base, "ok": self.ok, "profile": self.profile,
                "checks": [c.as_dict() for c in self.checks]}


def doctor(settings: Settings, specs: list[str], vllm_python: str | None = None) -> DoctorReport:
    """Every pre-launch check for `specs` (NAME=DIR adapters), and the vLLM environment's."""
    plan = plan_adapters(settings, specs)
    checks = list(plan.checks)
    try:
        checks.append(Check("-", "vLLM environment", True, find_vllm_python(vllm_python)))
    except MemoError as exc:
        checks.append(Check("-", "vLLM environment", False, str(exc)))
    checks.append(store_row(settings))
    return DoctorReport(plan.base, checks, describe(plan.profile, plan.base))


def store_row(settings: Settings) -> Check:
    """The index store's row: whole, damaged (with the way out), or not there yet."""
    if settings.index.chroma_url:
        return Check("-", "index store", True, f"on the Chroma server {settings.index.chroma_url} (not checked here)")
    problem = store_damage(settings, force=True)
    if problem is None and not (settings.index_dir / "chroma" / "chroma.sqlite3").exists():
        return Check("-", "index store", True, f"nothing indexed yet in {settings.index_dir}")
    if problem:
        return Check("-", "index store", False, f"{settings.index_dir} is damaged: {problem}; {REPAIR_HINT}")
    return Check("-", "index store", True, f"{settings.index_dir}: SQLite and the vector files are whole")
