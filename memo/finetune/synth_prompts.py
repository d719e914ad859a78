"""What the data generator is asked: one source for synthesis prompts and their parsing.

Two styles, the same record afterwards:
- `json` (endpoints such as GPT-4 or a 7B+ model on vLLM): one chat call per draft; the model picks
  the quotes and writes question and answer as a JSON object.
- `fewshot` (the embedded 135M default): measured here, SmolLM2-135M wrote valid JSON for 0 of 16
  passages and ignored the passage in chat form; as a few-shot text completion it writes usable
  questions. memo picks the quote sentence, the model completes one short line at a time: the
  question, and for behavioural records the STAR answer; company answers memo writes itself from
  the quote (memo.finetune.voice).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from memo.llm.prompt import chunk_body, neutralize

KINDS = ("company", "behavioural")
PROMPT_VERSION = 2  # bump when a prompt changes: it is part of the resume key and provenance


@dataclass
class Draft:
    question: str
    quotes: list[str] = field(default_factory=list)
    answer: str = ""


class DraftError(ValueError):
    """The generator's reply cannot be read as a draft (the reason is the rejection label)."""


def _who(company: str, role: str | None) -> str:
    return f"a {role} candidate at {company}" if role else f"a candidate at {company}"


JSON_SYSTEM = ("You write realistic job-interview questions and model answers grounded in a company's "
               "own documents. Reply with a single JSON object and nothing else.")

JSON_TASKS = {
    "company": ("Write one question an interviewer could ask {who} that this passage answers: about "
                "the company's values, how it works, its products, its benefits or the role's "
                "duties. Answer it as the candidate would, in the first person, using the passage."),
    "behavioural": ("Write one behavioural interview question (for example \"Tell me about a time...\") "
                    "that {who} is likely to be asked given this passage, and answer it as a strong "
                    "candidate in STAR form (situation, task, action, result), connecting the story to "
                    "what the passage says the company values."),
}

JSON_FORMAT = ('Reply as JSON: {{"question": "...", "quotes": ["a sentence copied word for word from '
               'the passage", ...], "answer": "..."}}. Quotes must be exact copies (1 to 3 of them).')


def json_messages(passage: str, kind: str, company: str, role: str | None) -> list[dict[str, str]]:
    task = JSON_TASKS[kind].format(who=_who(company, role))
    user = (f"Passage from {neutralize(company)}'s documents:\n\"\"\"\n{neutralize(chunk_body(passage)).strip()}"
            f"\n\"\"\"\n\n{task}\n\n{JSON_FORMAT.format()}")
    return [{"role": "system", "content": JSON_SYSTEM}, {"role": "user", "content": user}]


def parse_json_draft(reply: str) -> Draft:
    """A Draft from a JSON reply (code fences and text around the object tolerated)."""
    match = re.search(r"\{.*\}", reply, flags=re.DOTALL)
    if not match:
        raise DraftError("not_json")
    try:
        data = json.loads(match.group(0))
    except ValueError:
        raise DraftError("not_json") from None
    if not isinstance(data, dict) or not isinstance(data.get("question"), str):
        raise DraftError("missing_fields")
    quotes = data.get("quotes") or ([data["quote"]] if isinstance(data.get("quote"), str) else [])
    if not isinstance(quotes, list) or not all(isinstance(q, str) for q in quotes):
        raise DraftError("missing_fields")
    answer = data.get("answer")
    if not isinstance(answer, str) or not answer.strip():
        raise DraftError("missing_fields")
    return Draft(question=data["question"].strip(), quotes=[q.strip() for q in quotes if q.strip()],
                 answer=answer.strip())


# Few-shot examples about a made-up company, so no demo or user text leaks into every prompt.
FEWSHOT_QUESTION = {
    "company": """Each sentence from a company handbook is followed by an interview question that the sentence answers.

Sentence: New starters at Harbourline get a laptop and a two-week onboarding plan on their first day.
Question: What does onboarding look like for new starters at Harbourline?

Sentence: Our support engineers rotate through a weekly on-call shift, with a paid day off after each shift.
Question: How does the on-call rotation work for support engineers?

Sentence: We release the mobile app every two weeks after a staged rollout to five percent of users.
Question: How often is the mobile app released, and how are releases rolled out?

Sentence: {quote}
Question:""",
    "behavioural": """Each sentence from a company handbook is followed by a behavioural interview question it inspires.

Sentence: We write down decisions so that people in other time zones can follow them.
Question: Tell me about a time you made a decision visible to people who were not in the room.

Sentence: Every incident gets a blameless review within a week.
Question: Describe a time something you built failed in production. What did you do afterwards?

Sentence: {quote}
Question:""",
}

FEWSHOT_ANSWER = {
    "behavioural": """Each behavioural question is answered by the candidate in STAR form, tied to the handbook sentence.

Sentence: Every incident gets a blameless review within a week.
Question: Describe a time something you built failed in production. What did you do afterwards?
Answer: Situation: a release of mine broke checkout for an hour. Task: restore it and stop a repeat. Action: I rolled back, then led a blameless review within the week. Result: we added a canary stage, which matches how you review every incident.

Sentence: {quote}
Question: {question}
Answer:""",
}


# The question's first words, written by memo: without them the 135M model wrote a behavioural
# question for 0 of 22 passages (it drifts back to "What is...").
FEWSHOT_QUESTION_START = {"company": "", "behavioural": "Tell me about a time"}


def fewshot_question_prompt(quote: str, kind: str) -> str:
    start = FEWSHOT_QUESTION_START[kind]
    return FEWSHOT_QUESTION[kind].format(quote=neutralize(quote)) + (" " + start if start else "")


def fewshot_question(completion: str, kind: str) -> str:
    """The question from its completion, with memo's opening words put back."""
    return " ".join(part for part in (FEWSHOT_QUESTION_START[kind], first_line(completion)) if part)


def fewshot_answer_prompt(quote: str, question: str, kind: str) -> str:
    return FEWSHOT_ANSWER[kind].format(quote=neutralize(quote), question=question)


def first_line(completion: str) -> str:
    """A few-shot completion up to the end of its line (the model often runs on to the next shot)."""
    return completion.strip().split("\n", 1)[0].strip()
