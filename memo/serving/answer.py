"""`memo ask`: retrieve, pack the context window, prompt, generate, and check the citations."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from memo.config import Settings
from memo.errors import MemoError
from memo.serving.citations import citations
from memo.serving.prompt import ContextDoc, build_messages
from memo.serving.profiles import get_profile

MODES = ("base", "rag")  # the fine-tuned modes (ft, hybrid) arrive with `memo train`


@dataclass
class Answer:
    question: str
    mode: str
    model: str
    company: str
    role: str | None
    answer: str
    citations: list[dict] = field(default_factory=list)
    invalid_citations: list[int] = field(default_factory=list)
    contexts: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def context_length(settings: Settings) -> int:
    return settings.generation.context_length or get_profile(settings.model.profile).context_length


def load_generator(settings: Settings):
    """The in-process generator for the configured profile and weights."""
    from memo.serving.generator import LocalGenerator
    from memo.serving.models import llm_path, load_llm

    profile = get_profile(settings.model.profile)
    path = llm_path(settings.model.llm, profile, settings.cache_dir)
    llm = load_llm(path, profile, settings.model.device, settings.model.threads)
    return LocalGenerator(llm, profile.template, context_length(settings))


class Answerer:
    """Holds the loaded retriever and generator so several questions pay for one load."""

    def __init__(self, settings: Settings, retriever=None, generator=None):
        self.settings = settings
        self._retriever = retriever
        self._generator = generator

    @property
    def retriever(self):
        if self._retriever is None:
            from memo.retrieval.hybrid import HybridRetriever

            self._retriever = HybridRetriever(self.settings)
        return self._retriever

    @property
    def generator(self):
        if self._generator is None:
            self._generator = load_generator(self.settings)
        return self._generator

    def prepare(self, question: str, company: str, role: str | None, mode: str) -> tuple[list, list[dict]]:
        """The messages and the packed contexts for one question (no generation)."""
        if mode not in MODES:
            raise MemoError(f"--mode {mode!r} is not one of: {', '.join(MODES)}")
        if not question.strip():
            raise MemoError("the question is empty")
        if mode == "base":
            self.retriever.scope(company, role)  # still refuse companies with nothing indexed
            return build_messages(question, company, role, None), []
        hits = self.retriever.retrieve(question, company, role, self.settings.retrieval.pack_candidates)
        budget = self.generator.context_length - self.settings.generation.max_new_tokens
        if budget <= 0:
            raise MemoError(f"generation.max_new_tokens ({self.settings.generation.max_new_tokens}) "
                            f"leaves no room in a {self.generator.context_length}-token context")

        def fits(candidate) -> bool:
            docs = [ContextDoc(h.source, h.section, h.text) for h in candidate]
            return self.generator.prompt_tokens(build_messages(question, company, role, docs)) <= budget

        from memo.retrieval.packing import pack

        packed = pack(hits, fits)
        docs = [ContextDoc(h.source, h.section, h.text) for h in packed]
        contexts = [{"source": h.source, "company": h.company, "role": h.role or None,
                     "section": h.section, "score": h.score, "text": h.text} for h in packed]
        return build_messages(question, company, role, docs), contexts

    def ask(self, question: str, company: str, role: str | None = None, mode: str = "rag",
            on_text: Callable[[str], None] | None = None) -> Answer:
        from memo.serving.generator import Decoding

        messages, contexts = self.prepare(question, company, role, mode)
        text = self.generator.generate(messages, Decoding.from_config(self.settings.generation), on_text)
        cited, invalid = citations(text, contexts, question) if contexts else ([], [])
        return Answer(question=question, mode=mode, model=self.generator.name, company=company,
                      role=role, answer=text, citations=cited, invalid_citations=invalid,
                      contexts=contexts)
