"""`memo ask`: retrieve, select the evidence, and say it as the candidate; check any model's phrasing.

    prepare  -> what the answer may state: the evidence (sentences of the best hits, memo.answering.
                evidence), or a story of the candidate's, and the messages a model phrases it from
    generate -> a model's phrasing (rag, hybrid) or, without documents, its answer (base, ft)
    compose  -> the Answer: the checked phrasing, else the deterministic composition of the evidence

Every mode with documents goes through the same selection; `extractive` (what `--mode auto` answers
in) says the evidence without a model. The bench answers through the same `prepare` and `compose`,
with batched generation between them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from memo.answering.candidate import AUTO_CANDIDATE, resolve_candidate, routed_hits
from memo.answering.citations import citations
from memo.answering.compose import check, cited_phrasing, compose_rules
from memo.answering.evidence import Unit, evidence_for
from memo.answering.selector import load_scorer
from memo.answering.stories import story_evidence
from memo.core.config import Settings
from memo.core.errors import MemoError
from memo.core.identity import company_corpus_hash
from memo.core.limits import check_question
from memo.llm.adapter import (
    read_adapter,
    resolve_adapter,
    stale_warning,
)
from memo.llm.derive import resolve
from memo.llm.endpoint import Endpoint, EndpointGenerator
from memo.llm.generator import Decoding, context_length, load_generator
from memo.llm.models import load_tokenizer
from memo.core.voice import in_candidate_voice
from memo.llm.prompt import ANSWER_MARK, build_messages, phrasing_messages, split_answer
from memo.retrieval.hybrid import HybridRetriever

# base: the model alone; extractive: the evidence said without a model; rag: the evidence phrased by
# the base model; ft: the LoRA adapter alone; hybrid: the evidence phrased by the adapter.
# auto (`memo ask`'s default): hybrid with --adapter, else extractive (on 24 held-out questions the
# deterministic composer kept more key facts than the base model or the reader adapter phrasing the
# same evidence: benchmarks/README.md, "Evidence first")
MODES = ("base", "extractive", "rag", "ft", "hybrid")
ASK_MODES = ("auto", *MODES)
ADAPTER_MODES = ("ft", "hybrid")
RETRIEVAL_MODES = ("extractive", "rag", "hybrid")
GENERATING_MODES = ("base", "rag", "ft", "hybrid")


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
    # for a question about the candidate's experience: the story the answer tells (its source), ""
    # when the question is not about experience, or "none" when no story of the candidate's fits
    # (the answer then says which kind would)
    story: str = ""
    evidence: list[dict] = field(default_factory=list)  # the sentences the answer states, with source and score
    composer: str = ""  # "rules", "model", or "rules (model refused: <why>)"; "" for base and ft

    def as_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class Prepared:
    """One question made ready: what a model reads (None: no model writes this answer), the hits read
    (numbered from 1), the evidence selected from them, and an answer decided without a model."""

    messages: list | None
    contexts: list[dict]
    evidence: list[Unit]
    story: str = ""
    fixed: str | None = None


def _shown(unit: Unit, contexts: list[dict]) -> dict:
    """An evidence unit as `--json` shows it."""
    return {"text": unit.text, "n": unit.doc, "source": unit.source, "section": unit.section,
            "score": unit.score, "mine": unit.mine}


class Answerer:
    """Holds the loaded retriever and generator so several questions pay for one load."""

    def __init__(self, settings: Settings, retriever=None, generator=None, adapter: Path | None = None,
                 endpoint: Endpoint | None = None, served_model: str | None = None,
                 served_adapter: str | None = None, scorer=None):
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
        self._scorer = scorer  # the evidence selector (memo.answering.evidence), loaded on first use

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

    @property
    def scorer(self):
        if self._scorer is None:
            self._scorer = load_scorer(self.settings, lambda: self.retriever.embedder)
        return self._scorer

    def check_mode(self, mode: str) -> None:
        if mode not in MODES:
            raise MemoError(f"--mode {mode!r} is not one of: {', '.join(MODES)}")
        if self.endpoint is None and (mode in ADAPTER_MODES) != (self.adapter is not None):
            raise MemoError(f"--mode {mode} needs --adapter DIR (the --out folder of `memo train`)"
                            if mode in ADAPTER_MODES else
                            f"--adapter is used by --mode ft or hybrid, not {mode}")

    def prepare(self, question: str, company: str, role: str | None, mode: str,
                candidate: str | None = None) -> Prepared:
        """What one answer may state and what a model reads (no generation); `candidate` (a
        profile name, or `auto`) adds the candidate's own documents by the question's category."""
        self.check_mode(mode)
        if self.endpoint is not None and mode in GENERATING_MODES:
            self.generator_for(mode)  # an unknown served name fails before any retrieval
        check_question(question)
        if mode not in RETRIEVAL_MODES:
            self.retriever.scope(company, role)  # still refuse companies with nothing indexed
            return Prepared(build_messages(question, company, role, None), [], [])
        scope = resolve_candidate(self.retriever, candidate)
        hits = routed_hits(self.retriever, question, company, role, scope, self.settings.evidence.hits)
        contexts = [{"source": h.source, "company": h.company, "role": h.role or None, "section": h.section,
                     "score": h.score, "dense": h.dense, "text": h.text, "mine": h.kind == "candidate"}
                    for h in hits]
        story = story_evidence(question, company, contexts)
        if story is not None:  # a question about the candidate's experience: a story of theirs, or none
            source, evidence, told = story
            return Prepared(None, contexts, evidence, story=source, fixed=told)
        evidence = evidence_for(question, hits, self.scorer, self.settings.evidence)
        messages = None
        if evidence and mode != "extractive":
            notes = [u.text if u.mine else in_candidate_voice(u.text) for u in evidence]
            messages = phrasing_messages(question, company, role, notes)
        return Prepared(messages, contexts, evidence)

    def compose(self, question: str, company: str, role: str | None, mode: str, text: str | None,
                prepared: Prepared, model: str) -> Answer:
        """The Answer from `prepared` and a model's `text` (None when no model wrote one): a
        phrasing of the evidence only when `check` accepts it, else the evidence said by rules."""
        contexts, evidence, composer = prepared.contexts, prepared.evidence, ""
        reasoning, said = split_answer(text) if text is not None else ("", None)  # reasoning is not the answer
        if mode not in RETRIEVAL_MODES:
            final = said or ""
        elif prepared.fixed is not None:
            final, composer = prepared.fixed, "story"
        else:
            refused = check(said, evidence, question, company) if said is not None and evidence else "no text"
            if refused is None:
                final, composer = cited_phrasing(said, evidence), "model"
            else:
                final = compose_rules(evidence, company)
                composer = "rules" if text is None else f"rules (model refused: {refused})"
        cited, invalid = citations(final, contexts, question) if contexts else ([], [])
        return Answer(question=question, mode=mode, model=model if text is not None else "", company=company,
                      role=role, answer=final, citations=cited, invalid_citations=invalid, contexts=contexts,
                      adapter=str(self.adapter) if self.adapter else None, story=prepared.story,
                      evidence=[_shown(u, contexts) for u in evidence], composer=composer, reasoning=reasoning)

    def ask(self, question: str, company: str, role: str | None = None, mode: str = "rag",
            on_text: Callable[[str], None] | None = None, candidate: str | None = None) -> Answer:
        prepared = self.prepare(question, company, role, mode, candidate)
        text, name = None, ""
        if prepared.messages is not None:
            generator = self.generator_for(mode)
            if on_text is not None and mode in ADAPTER_MODES:
                on_text = final_answer_only(on_text)
            text = generator.generate(prepared.messages, Decoding.from_config(self.settings.generation), on_text)
            name = generator.name
        answer = self.compose(question, company, role, mode, text, prepared, name)
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
    """(mode, adapter) for `mode` auto: hybrid with the given adapter (it phrases the evidence,
    checked), rag at an `endpoint` (its model phrases it, checked), else extractive (the evidence
    said by rules: the shipped reader's phrasing is not better, benchmarks/README.md "Evidence
    first"). Other modes are returned as given."""
    if mode != "auto":
        return mode, adapter
    if adapter:
        return "hybrid", adapter
    return ("rag", None) if endpoint else ("extractive", None)


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
