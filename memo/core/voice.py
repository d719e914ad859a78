"""A company document's sentence in the candidate's voice, spoken to the interviewer.

The interviewer represents the company, so the handbook's "we" (the company) becomes "you", and
its "you" (the employee) becomes "I": "We pay for your laptop" -> "You pay for my laptop", "You
are paid monthly" -> "I am paid monthly". One "you" never stands for both. An instruction to the
employee ("Book vacation in Humi") becomes what the candidate would do ("I'd book vacation in
Humi"). Numbers, names and every other word are left as written. Pure functions, no model.
"""

from __future__ import annotations

import re

# The handbook's employee "you" as a subject, with the verb that must agree with "I".
_SUBJECT_VERBS = {"are": "am", "were": "was", "aren't": "am not", "weren't": "wasn't", "have been": "have been"}
_YOU_FORMS = {"you're": "I'm", "you've": "I've", "you'll": "I'll", "you'd": "I'd", "your": "my", "yours": "mine",
              "yourself": "myself", "yourselves": "ourselves"}
_WE_FORMS = {"we": "you", "our": "your", "ours": "yours", "us": "you", "ourselves": "yourselves",
             "we're": "you're", "we've": "you've", "we'll": "you'll", "we'd": "you'd"}
# Words after which "you" is an object ("send you", "to you"): it becomes "me".
_BEFORE_OBJECT = frozenset(
    "to for with at from by of about on into onto upon towards toward than like give gives send sends tell "
    "tells pay pays help helps ask asks let lets offer offers reimburse reimburses show shows invite invites "
    "email emails contact contacts support supports provide provides expect expects want wants encourage "
    "encourages allow allows assign assigns pair pairs lend lends remind reminds thank thanks meet meets "
    "call calls connect connects welcome welcomes onboard onboards give gave sent told paid helped asked "
    "offered shown invited expected allowed assigned paired lent reminded thanked met called joined "
    "introduce introduces get gets keep keeps make makes train trains".split())
# The first word of an instruction to the employee: the candidate says what they would do.
IMPERATIVES = frozenset(
    "ask book use submit send tell talk check keep read write follow make take give put let file request log "
    "report join contact reach email post add open lock enable share get expect plan install review bring "
    "choose pick set turn update avoid remember note be store sign wear leave start stop save call come go "
    "fill raise mention flag record track apply attend complete prepare speak escalate notify reply respond "
    "clear encrypt back copy delete move run test tag label mark agree discuss decide find look try treat "
    "work".split())
_MARKUP = re.compile(r"\*\*|__|[*`]")  # Markdown emphasis and code ticks: not said
_TOKEN = re.compile(r"[A-Za-z’']+|[^A-Za-z’']+")


def _case_like(word: str, model: str) -> str:
    return word[0].upper() + word[1:] if model[:1].isupper() else word


def _you(tokens: list[str], i: int) -> str:
    """'I' or 'me' for the employee's "you" at tokens[i] (words and separators alternate)."""
    prev = next((t.lower() for t in reversed(tokens[:i]) if t.strip() and t[0].isalpha()), "")
    gap = "".join(tokens[max(0, i - 2):i])
    if prev in _BEFORE_OBJECT and not re.search(r"[,;:.!?(]", gap):
        return "me"
    return "I"


def _agree(tokens: list[str], i: int) -> None:
    """The verb after a subject "I" at tokens[i], made to agree ("are" -> "am")."""
    if i + 2 < len(tokens) and tokens[i + 1].isspace():
        verb = tokens[i + 2].lower()
        if verb in _SUBJECT_VERBS:
            tokens[i + 2] = _SUBJECT_VERBS[verb]


def swap_persons(sentence: str) -> str:
    """The sentence with the company's "we" as "you" and the employee's "you" as "I"/"me"."""
    tokens = _TOKEN.findall(sentence)
    out = list(tokens)
    for i, token in enumerate(tokens):
        low = token.lower().replace("’", "'")
        if low in _WE_FORMS and not (token.isupper() and len(token) > 1):  # "US" is a country
            out[i] = _case_like(_WE_FORMS[low], token)
        elif low in _YOU_FORMS:
            out[i] = _YOU_FORMS[low] if _YOU_FORMS[low].startswith("I") else _case_like(_YOU_FORMS[low], token)
        elif low == "you":
            word = _you(tokens, i)
            out[i] = word if word == "I" else _case_like(word, token)
            if word == "I":
                _agree(out, i)
    return "".join(out)


def as_intention(sentence: str) -> str:
    """An instruction ("Book vacation ahead.", "Never share it.", "Don't post it.") as what the
    candidate would do ("I'd book vacation ahead."); any other sentence as it is."""
    match = re.match(r"^(please\s+)?(always\s+|never\s+)?(don't|do not|\w+)\b", sentence, re.IGNORECASE)
    if not match:
        return sentence
    adverb = (match.group(2) or "").lower()
    verb = match.group(3).lower().replace("’", "'")
    rest = sentence[match.end():]
    if verb in ("don't", "do not"):
        return f"I wouldn't{rest}"
    if adverb or (verb in IMPERATIVES and (match.group(1) or _looks_imperative(sentence, match.group(3)))):
        return f"I'd {adverb}{verb}{rest}"
    return sentence


def _looks_imperative(sentence: str, first: str) -> bool:
    """A sentence opening with a capitalised base verb not followed by a verb of its own ("Book
    vacation in Humi") rather than a noun that doubles as a verb ("Work is ...", "Leave carries ...")."""
    second = sentence[len(first):].split()[:1]
    return bool(second) and second[0].lower() not in {"is", "are", "was", "were", "has", "have", "will", "can",
                                                         "carries", "counts", "starts", "means", "may", "must", "of"}


def in_candidate_voice(sentence: str) -> str:
    """A company document's sentence as the candidate says it to the interviewer."""
    text = _MARKUP.sub("", sentence).strip()
    if not text:
        return text
    text = swap_persons(as_intention(text))
    return text[0].upper() + text[1:]
