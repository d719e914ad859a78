"""Text helpers shared by every layer: content words and the one sentence splitter.

`content_words` is what overlap measures compare (BM25's terms, citation attribution, the synth
gates, the bench's citation support): lowercase words and numbers with function words removed.
`split_sentences` is how chunking, quoting, citation attribution and scoring cut text into
sentences. (A company's sentence in the candidate's words: memo.core.voice.)
"""

from __future__ import annotations

import re

_TOKEN = re.compile(r"[a-z0-9]+(?:['’][a-z]+)?")
# Function words carry no topic; dropping them keeps overlaps from matching on "the" and "how".
STOPWORDS = frozenset(
    ["a", "an", "and", "are", "as", "at", "be", "but", "by", "can", "do", "does", "for", "from", "has",
     "have", "how", "i", "if", "in", "into", "is", "it", "its", "me", "my", "of", "on", "or", "our", "so",
     "that", "the", "their", "them", "there", "these", "they", "this", "to", "was", "we", "what", "when",
     "where", "which", "who", "why", "will", "with", "would", "you", "your"])

# A Western sentence ends at . ! or ? followed by space and a capital, a digit or an opening quote
# or bracket (so "e.g. the" and "v1.2" stay whole); a CJK full stop needs no space after it.
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[]?[A-Z0-9])|(?<=[。！？])\s*")


def content_words(text: str) -> list[str]:
    """Lowercased words and numbers of `text`, in order, without stop words."""
    return [t for t in _TOKEN.findall(text.lower()) if t not in STOPWORDS]


def split_sentences(text: str) -> list[str]:
    """The sentences of one line or paragraph of text, as written (blank pieces dropped)."""
    return [s for s in SENTENCE_END.split(text) if s.strip()]


CITATION = re.compile(r"\[\d+(?:\s*,\s*\d+)*\]")  # [1], [2, 3]: document numbers, not facts
_CITATION_AND_SPACE = re.compile(r"\s*" + CITATION.pattern)


def without_citations(text: str) -> str:
    """`text` with its citation markers (and the space before each) taken out."""
    return _CITATION_AND_SPACE.sub("", text)


# The candidate speaks to the interviewer about the interviewer's company.
# Words that frame an answer without adding to it ("Document [4] states that ...").
_FRAMING = frozenset(["document", "documents", "says", "say", "states", "state", "mentions", "notes",
                      "according", "actually", "read"])


def echoes(answer: str, question: str) -> bool:
    """Whether `answer` says nothing the question did not: it has content words and every one of
    them, citations and framing aside, is the question's ("It does matter when I exercise my
    options [4]." to "Does it matter when I choose to exercise my options?")."""
    said = set(content_words(CITATION.sub(" ", answer))) - _FRAMING
    return bool(said) and said <= set(content_words(question))
