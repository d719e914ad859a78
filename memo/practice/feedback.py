"""Written feedback on a practice answer from a judge endpoint the user names (`memo practice
--judge-endpoint URL --judge-model NAME`): optional, and the only way a practice answer, and the
passages behind its question, leave the machine. The scores never depend on it."""

from __future__ import annotations

from memo.llm.endpoint import Endpoint

FEEDBACK_TOKENS = 200
INSTRUCTIONS = (
    "You coach a job candidate. Given an interview question, the documents an answer should draw on "
    "and the candidate's answer, write two or three sentences of direct, specific feedback: what was "
    "good, what was missing or wrong according to the documents, and how to say it better. Address "
    "the candidate as 'you'.")


def feedback_messages(question: str, passages: list[str], answer: str) -> list[dict[str, str]]:
    documents = "\n\n".join(f"[{n}] {p.strip()[:1500]}" for n, p in enumerate(passages, start=1))
    return [{"role": "system", "content": INSTRUCTIONS},
            {"role": "user", "content": f"Question: {question}\n\nDocuments:\n{documents}\n\nAnswer: {answer}"}]


class Judge:
    """The judge endpoint and model; `feedback` is one request."""

    def __init__(self, url: str, model: str, timeout: float = 120.0):
        self.endpoint, self.model = Endpoint(url, timeout, label="the judge endpoint"), model

    def feedback(self, question: str, passages: list[str], answer: str) -> str:
        return self.endpoint.chat(self.model, feedback_messages(question, passages, answer), FEEDBACK_TOKENS, 0.0).strip()
