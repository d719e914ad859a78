"""`memo ask`: retrieve, pack the context window, prompt, generate, and check the citations."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from memo.config import Settings
from memo.errors import MemoError
from memo.serving.citations import citations
from memo.serving.profiles import get_profile
from memo.serving.prompt import ContextDoc, build_messages

# base: the model alone; rag: retrieval; ft: the LoRA adapter alone; hybrid: adapter + retrieval
MODES = ("base", "rag", "ft", "hybrid")
ADAPTER_MODES = ("ft", "hybrid")
RETRIEVAL_MODES = ("rag", "hybrid")


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
    adapter: str | None = None
    reasoning: str = ""  # the quoted reasoning an adapter writes before its final answer
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def context_length(settings: Settings) -> int:
    return settings.generation.context_length or get_profile(settings.model.profile).context_length


def load_llm_for(settings: Settings):
    """(loaded model, chat template name) for the configured profile and weights."""
    from memo.serving.models import llm_path, load_llm

    profile = get_profile(settings.model.profile)
    path = llm_path(settings.model.llm, profile, settings.cache_dir)
    return load_llm(path, profile, settings.model.device, settings.model.threads), profile.template


def load_generator(settings: Settings, adapter: Path | None = None):
    """The in-process generator for the configured profile and weights, with a LoRA adapter."""
    from memo.serving.generator import LocalGenerator

    info = None
    if adapter is not None:
        from memo.finetune.adapter import read_adapter

        info = read_adapter(adapter)  # refuse a non-adapter before loading any weights
    llm, template = load_llm_for(settings)
    if adapter is not None:
        from memo.finetune.adapter import attach, check_base, check_template

        check_template(info, adapter, template)
        check_base(info, adapter, llm.path)
        llm.model = attach(llm.model, adapter)
        llm.name = f"{llm.name}+{adapter.name}"
    return LocalGenerator(llm, template, context_length(settings))


class Answerer:
    """Holds the loaded retriever and generator so several questions pay for one load."""

    def __init__(self, settings: Settings, retriever=None, generator=None, adapter: Path | None = None,
                 endpoint=None, served_model: str | None = None, served_adapter: str | None = None):
        """`endpoint` (memo.serving.endpoint.Endpoint) answers instead of the in-process model, with
        `served_model` for base/rag and `served_adapter` for ft/hybrid (each found from the
        server's model list when there is only one)."""
        self.settings = settings
        self._retriever = retriever
        self._generator = generator
        self.adapter = adapter
        self.adapter_info = None
        self.endpoint, self.served_model, self.served_adapter = endpoint, served_model, served_adapter
        self._tokenizer = None
        if adapter is not None:
            from memo.finetune.adapter import read_adapter

            self.adapter_info = read_adapter(adapter)

    @property
    def retriever(self):
        if self._retriever is None:
            from memo.retrieval.hybrid import HybridRetriever

            self._retriever = HybridRetriever(self.settings)
        return self._retriever

    @property
    def generator(self):
        if self._generator is None:
            self._generator = load_generator(self.settings, self.adapter)
        return self._generator

    def generator_for(self, mode: str):
        """The generator that answers `mode`: the in-process model, or the endpoint's model for it."""
        if self.endpoint is not None:
            self._generator = self.endpoint_generator(mode)
        return self.generator

    def endpoint_generator(self, mode: str):
        """The endpoint's generator for this mode (per-request model selection)."""
        from memo.serving.endpoint import EndpointGenerator
        from memo.serving.models import llm_path, load_tokenizer

        wants_adapter = mode in ADAPTER_MODES
        name = self.endpoint.pick(self.served_adapter if wants_adapter else self.served_model, wants_adapter)
        profile = get_profile(self.settings.model.profile)
        if self._tokenizer is None:  # counts the prompt for packing: the served model's own tokenizer
            self._tokenizer = load_tokenizer(llm_path(self.settings.model.llm, profile, self.settings.cache_dir))
        return EndpointGenerator(self.endpoint, name, self._tokenizer, profile.template, context_length(self.settings))

    def prepare(self, question: str, company: str, role: str | None, mode: str) -> tuple[list, list[dict]]:
        """The messages and the packed contexts for one question (no generation)."""
        if mode not in MODES:
            raise MemoError(f"--mode {mode!r} is not one of: {', '.join(MODES)}")
        if self.endpoint is not None:
            self.generator_for(mode)
        elif (mode in ADAPTER_MODES) != (self.adapter is not None):
            raise MemoError(f"--mode {mode} needs --adapter DIR (the --out folder of `memo train`)"
                            if mode in ADAPTER_MODES else
                            f"--adapter is used by --mode ft or hybrid, not {mode}")
        if not question.strip():
            raise MemoError("the question is empty")
        if mode not in RETRIEVAL_MODES:
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
        from memo.serving.prompt import split_answer

        messages, contexts = self.prepare(question, company, role, mode)
        text = self.generator.generate(messages, Decoding.from_config(self.settings.generation), on_text)
        reasoning, final = split_answer(text)
        cited, invalid = citations(final, contexts, question) if contexts else ([], [])
        return Answer(question=question, mode=mode, model=self.generator.name, company=company,
                      role=role, answer=final, citations=cited, invalid_citations=invalid,
                      contexts=contexts, adapter=str(self.adapter) if self.adapter else None,
                      reasoning=reasoning, warnings=self.warnings(company))

    def warnings(self, company: str) -> list[str]:
        """The adapter is stale when the company's documents changed since its training data."""
        if not self.adapter_info:
            return []
        from memo.finetune.adapter import stale_warning
        from memo.finetune.synth_data import company_corpus_hash
        from memo.ingestion.indexer import slug

        current = company_corpus_hash(self.retriever, slug(company))
        warning = stale_warning(self.adapter_info, current, company)
        return [warning] if warning else []
