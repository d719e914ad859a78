"""`memo ask`: retrieve, pack the context window, prompt, generate, and check the citations.

    prepare  -> the messages and packed contexts for one question (retrieval arms retrieve)
    generate -> the model's text (in-process, or a served model per mode)
    compose  -> the Answer: reasoning split from the final answer, citations checked

The bench answers through the same `prepare` and `compose`, with batched generation between them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from memo.answering.candidate import AUTO_CANDIDATE, resolve_candidate, routed_hits
from memo.answering.citations import citations, recite
from memo.answering.stories import story_answer, story_source
from memo.core.categories import question_category
from memo.core.config import Settings
from memo.core.errors import MemoError
from memo.core.identity import company_corpus_hash
from memo.core.limits import check_question
from memo.core.profiles import AUTO, DEFAULT_PROFILE
from memo.llm.adapter import (
    base_fingerprint,
    read_adapter,
    resolve_adapter,
    shipped_reader,
    stale_warning,
)
from memo.llm.derive import resolve
from memo.llm.endpoint import Endpoint, EndpointGenerator
from memo.llm.generator import Decoding, context_length, load_generator
from memo.llm.models import load_tokenizer
from memo.llm.prompt import ANSWER_MARK, ContextDoc, build_messages, split_answer
from memo.retrieval.hybrid import HybridRetriever
from memo.retrieval.packing import pack, reading_order

# base: the model alone; rag: retrieval; ft: the LoRA adapter alone; hybrid: adapter + retrieval;
# auto (`memo ask`'s default): hybrid with --adapter or, on the default model, the shipped reader;
# else rag
MODES = ("base", "rag", "ft", "hybrid")
ASK_MODES = ("auto", *MODES)
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
    # for a question about the candidate's experience: the story the answer tells (its source),
    # "" when the model's own answer told it or the question is not about experience, or
    # "none" when no story of the candidate's fits (the answer then says which kind would)
    story: str = ""

    def as_dict(self) -> dict:
        return dict(self.__dict__)


class Answerer:
    """Holds the loaded retriever and generator so several questions pay for one load."""

    def __init__(self, settings: Settings, retriever=None, generator=None, adapter: Path | None = None,
                 endpoint: Endpoint | None = None, served_model: str | None = None,
                 served_adapter: str | None = None):
        """`endpoint` answers instead of the in-process model, with `served_model` for base/rag and
        `served_adapter` for ft/hybrid (each found from the server's model list when there is only
        one). `retriever` may be shared with another Answerer."""
        self.settings = settings
        self._retriever = retriever
        self._generator = generator
        self.adapter = adapter
        self.adapter_info = read_adapter(adapter) if adapter is not None else None
        self.endpoint, self.served_model, self.served_adapter = endpoint, served_model, served_adapter
        self._served: dict[str, EndpointGenerator] = {}  # one per served name, made on first use
        self._tokenizer = None

    @property
    def retriever(self):
        if self._retriever is None:
            self._retriever = HybridRetriever(self.settings)
        return self._retriever

    def generator_for(self, mode: str):
        """The generator that answers `mode`: the in-process model (loaded on first use), or the
        endpoint's model for it (the base model for base/rag, the adapter for ft/hybrid)."""
        if self.endpoint is None:
            if self._generator is None:
                self._generator = load_generator(self.settings, self.adapter)
            return self._generator
        wants_adapter = mode in ADAPTER_MODES
        name = self.endpoint.pick(self.served_adapter if wants_adapter else self.served_model, wants_adapter)
        if name not in self._served:
            profile, path = resolve(self.settings)
            if self._tokenizer is None:  # counts the prompt for packing: the served model's own tokenizer
                self._tokenizer = load_tokenizer(path)
            self._served[name] = EndpointGenerator(self.endpoint, name, self._tokenizer, profile.template,
                                                   context_length(self.settings, profile))
        return self._served[name]

    def check_mode(self, mode: str) -> None:
        if mode not in MODES:
            raise MemoError(f"--mode {mode!r} is not one of: {', '.join(MODES)}")
        if self.endpoint is None and (mode in ADAPTER_MODES) != (self.adapter is not None):
            raise MemoError(f"--mode {mode} needs --adapter DIR (the --out folder of `memo train`)"
                            if mode in ADAPTER_MODES else
                            f"--adapter is used by --mode ft or hybrid, not {mode}")

    def prepare(self, question: str, company: str, role: str | None, mode: str,
                candidate: str | None = None) -> tuple[list, list[dict]]:
        """The messages and the packed contexts for one question (no generation); `candidate` (a
        profile name, or `auto`) adds the candidate's own documents by the question's category."""
        self.check_mode(mode)
        if self.endpoint is not None:
            self.generator_for(mode)  # an unknown served name fails before any retrieval
        check_question(question)
        if mode not in RETRIEVAL_MODES:
            self.retriever.scope(company, role)  # still refuse companies with nothing indexed
            return build_messages(question, company, role, None), []
        generator = self.generator_for(mode)
        scope = resolve_candidate(self.retriever, candidate)
        hits = routed_hits(self.retriever, question, company, role, scope, self.settings.retrieval.pack_candidates)
        budget = generator.context_length - self.settings.generation.max_new_tokens
        if budget <= 0:
            raise MemoError(f"generation.max_new_tokens ({self.settings.generation.max_new_tokens}) "
                            f"leaves no room in a {generator.context_length}-token context")

        def fits(chosen) -> bool:
            docs = [ContextDoc(h.source, h.section, h.text, h.kind == "candidate") for h in chosen]
            return generator.prompt_tokens(build_messages(question, company, role, docs)) <= budget

        packed = reading_order(pack(hits, fits), self.settings.retrieval.best_last and mode in ADAPTER_MODES)
        docs = [ContextDoc(h.source, h.section, h.text, h.kind == "candidate") for h in packed]
        contexts = [{"source": h.source, "company": h.company, "role": h.role or None, "section": h.section,
                     "score": h.score, "dense": h.dense, "text": h.text, "mine": h.kind == "candidate"}
                    for h in packed]
        return build_messages(question, company, role, docs), contexts

    def compose(self, question: str, company: str, role: str | None, mode: str, text: str,
                contexts: list[dict], model: str) -> Answer:
        """The Answer for generated `text`: the final answer split from its quoted reasoning, and
        its citations checked against the `contexts` the model was shown."""
        reasoning, final = split_answer(text, question)
        texts = [c["text"] for c in contexts]
        reasoning, final = recite(reasoning, texts, question), recite(final, texts, question)
        story = ""
        if mode in RETRIEVAL_MODES and question_category(question, company) == "behavioural":
            replacement = story_answer(question, final, contexts)
            if replacement is not None:  # the model did not tell a fitting story: never an invented one
                story = story_source(replacement, contexts)
                reasoning, final = "", replacement
        cited, invalid = citations(final, contexts, question) if contexts else ([], [])
        return Answer(question=question, mode=mode, model=model, company=company, role=role, answer=final,
                      citations=cited, invalid_citations=invalid, contexts=contexts,
                      adapter=str(self.adapter) if self.adapter else None, reasoning=reasoning, story=story)

    def ask(self, question: str, company: str, role: str | None = None, mode: str = "rag",
            on_text: Callable[[str], None] | None = None, candidate: str | None = None) -> Answer:
        messages, contexts = self.prepare(question, company, role, mode, candidate)
        generator = self.generator_for(mode)
        if on_text is not None and mode in ADAPTER_MODES:
            on_text = final_answer_only(on_text)
        text = generator.generate(messages, Decoding.from_config(self.settings.generation), on_text)
        answer = self.compose(question, company, role, mode, text, contexts, generator.name)
        answer.warnings = self.warnings(company)
        return answer

    def warnings(self, company: str) -> list[str]:
        """The adapter is stale when the company's documents changed since its training data."""
        if not self.adapter_info:
            return []
        current = company_corpus_hash(c.meta for c in self.retriever.chunks(company))
        warning = stale_warning(self.adapter_info, current, company)
        return [warning] if warning else []


def final_answer_only(on_text: Callable[[str], None]) -> Callable[[str], None]:
    """A stream callback that passes on only the text after the final-answer marker (an adapter
    writes its quoted reasoning first; --json keeps it)."""
    seen: list[str] = []

    def forward(text: str) -> None:
        if seen and seen[0] == ANSWER_MARK:
            on_text(text)
            return
        seen.append(text)
        _, sep, after = "".join(seen).partition(ANSWER_MARK)
        if sep:
            seen[:] = [ANSWER_MARK]
            if after.strip():
                on_text(after.lstrip())

    return forward


def resolve_mode(settings: Settings, mode: str, adapter: str | None, endpoint: str | None) -> tuple[str, str | None]:
    """(mode, adapter) for `mode` auto: hybrid with the given adapter, else hybrid with the shipped
    reader on the default model in-process, else rag. Other modes are returned as given."""
    if mode != "auto":
        return mode, adapter
    if adapter:
        return "hybrid", adapter
    reader = shipped_reader()
    if reader and not endpoint and settings.model.profile in (AUTO, DEFAULT_PROFILE) and _reader_fits(settings, reader):
        return "hybrid", str(reader)
    return "rag", None


def _reader_fits(settings: Settings, reader: Path) -> bool:
    """The default weights, or --llm weights identical to the ones the reader was trained on."""
    if not settings.model.llm:
        return True
    return read_adapter(reader).get("base_fingerprint") == base_fingerprint(settings.model.llm)


def ask(settings: Settings, question: str, company: str, role: str | None = None, mode: str = "auto",
        adapter: str | None = None, endpoint: str | None = None, served_model: str | None = None,
        timeout: float = 120.0, on_text: Callable[[str], None] | None = None,
        candidate: str | None = AUTO_CANDIDATE) -> Answer:
    """`memo ask`: one answer, in-process or through `endpoint` (where `adapter` is the adapter's
    served name and `served_model` the base model's), streamed through `on_text` when given.
    `adapter` may be `@reader`, the shipped reader. `candidate`: whose own documents join the
    company's (default: the default profile when indexed; None: nobody's)."""
    if mode not in ASK_MODES:
        raise MemoError(f"--mode {mode!r} is not one of: {', '.join(ASK_MODES)}")
    mode, adapter = resolve_mode(settings, mode, adapter, endpoint)
    if endpoint:
        answerer = Answerer(settings, endpoint=Endpoint(endpoint, timeout), served_model=served_model,
                            served_adapter=adapter)
    else:
        if served_model:
            raise MemoError("--model names a model served at --endpoint; for local weights use --llm")
        answerer = Answerer(settings, adapter=resolve_adapter(adapter))
    return answerer.ask(question, company, role, mode, on_text, candidate)
