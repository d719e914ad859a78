"""Training records from the candidate's own STAR stories (`memo synth --from-stories`), so the
fine-tune learns to answer a question about the candidate's experience with their story, in STAR
order, cited, and to say which kind of story would answer when none of the stories shown fits.

Made without a generator (nothing is sent to an endpoint): for each story, two behavioural
questions (its title, its first skill); the prompt is what `memo ask` packs for such a question
(the story among another story of the candidate's and the company's passages); the target is the
story told. With probability 1 - oracle_fraction the story is left out, the other stories shown
do not fit, and the target says which kind of story would answer (RAFT's no-oracle records).
"""

from __future__ import annotations

import random

from memo.answering.candidate import story_hits
from memo.answering.stories import fits, no_story, story_parts
from memo.core.identity import candidate_scope, record_id
from memo.core.star import PARTS
from memo.core.text import split_sentences
from memo.finetune.raft import Passage, attach_contexts

TEMPLATES = ("Tell me about a time from your work: {title}.", "Tell me about a time when {skill} mattered in your work.")


def questions_for(story_text: str) -> list[str]:
    lines = story_text.strip().splitlines()
    title = lines[0].lstrip("# ").strip() if lines else ""
    skills = next((line[len("Shows:"):].strip(" .").split(",") for line in lines if line.startswith("Shows:")), [])
    out = [TEMPLATES[0].format(title=title[0].lower() + title[1:])] if title else []
    if skills and skills[0].strip():
        out.append(TEMPLATES[1].format(skill=skills[0].strip()))
    return out


def story_records(synth, candidate: str, rng: random.Random) -> list[dict]:
    """The records of every story of `candidate` for `synth`'s company and role."""
    opts = synth.opts
    scope = candidate_scope(candidate)
    synth.retriever.scope(scope, None)  # a profile with nothing indexed: the clear error, now
    stories = story_hits(synth.retriever, scope)
    records = []
    for story in stories:
        for question in questions_for(story.text):
            keep = rng.random() < opts.oracle_fraction
            others = [s for s in stories if s.source != story.source and not (not keep and fits(question, s.text))][:1]
            company = synth.retriever.retrieve(question, opts.company, opts.role, max(opts.distractors - len(others), 1))
            docs = ([story] if keep else []) + others + company
            rng.shuffle(docs)
            passages = [Passage(h.id, h.source, h.section, h.text, mine=h.kind == "candidate") for h in docs]
            if keep:
                number = docs.index(story) + 1
                parts = story_parts(story.text)
                answer = " ".join(parts[p] for p in PARTS if parts.get(p))
                quote = split_sentences(parts.get("result") or parts.get("action") or answer)[0]
                record = attach_contexts(question, answer, passages, opts.company, opts.role, [(number, quote)])
            else:
                record = attach_contexts(question, no_story(question), passages, opts.company, opts.role, [])
            record.update(id=record_id(f"story|{story.source}|{question}"), company=opts.company, role=opts.role,
                          kind="story", question=question, answer=answer if keep else no_story(question),
                          answer_from="candidate story", source=story.source, generator="reference",
                          style="from-stories", corpus_hash=synth.corpus_hash)
            records.append(record)
    return records
