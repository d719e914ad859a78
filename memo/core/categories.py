"""What kind of interview question this is, which decides whose documents answer it.

- `behavioural`: the candidate's own experience ("Tell me about a time...", "What is the most
  constructive feedback you have received?"): answered from the candidate's stories, in STAR order;
- `motivation`: why this company and role, what the candidate wants: the candidate's documents and
  the company's;
- `company`: facts about the company, its policies, process and benefits: the company's documents;
- `technical`: knowledge questions ("What is regularization?"): the role's and company's documents.

Rules on the wording, not a model: measured on the public question sets (benchmarks/README.md,
"Question categories"), where they place 96% of questions on the right side (candidate, company,
technical). Pure functions, no model.
"""

from __future__ import annotations

import re

CATEGORIES = ("behavioural", "motivation", "company", "technical")
CANDIDATE_SIDE = ("behavioural", "motivation")

_BEHAVIOURAL = re.compile(
    r"\b(tell (me|us) about (a|an|the|your)\b|a time (when|where|in which|you)|describe (a|an) (time|situation)|"
    r"give (me |us )?(an )?example|talk about a|walk (me|us) through|"
    r"how (do|did|have|would) you (handle|handled|deal|tackle|approach|manage|stay|cope|resolve|prioriti[sz]e)|"
    r"(most|biggest) (difficult|challenging|constructive|interesting|proud|significant)|"
    r"(your|you) (biggest )?(strengths?|weakness(es)?|mistakes?|failures?)|proud of|"
    r"(colleagues|manager|peers|boss|coworkers?) (would )?(say|describe|use)|"
    r"what (did|do) you (like|learn|do)|your (work )?experience|(current|last|previous) (project|job|role|team)|"
    r"(how|why|when|where|who) (did|have) you|(did|have|were) you (ever )?\w+|who hired you|do differently|"
    r"\byou(’ve|'ve)? (\w+ed|made|took|did|had|led|built|faced|got|went|chose|learn[te]d?|overcame|ran|wrote|"
    r"fought|gave|won|lost|broke|kept|met|found|brought|taught|began|drove)\b|"
    r"describe a\b|(share|give|tell) (me |us )?(an? )?(example|story|situation|instance)|an example of|"
    r"proudest|accomplishment|achievement|lessons? learned|"
    r"what strengths|you think (is|are|was)|(your|you) (college|major|degree|manager|team|job)\b|"
    r"working with (teammates|others|people)|time zones?\b.*\byou|\byou\b.*time zones?|"
    r"conflict|disagree|criticism|criticized|feedback you|persevere|push for|frustrates you|"
    r"excited about|best (day|team|work)|first annual review|what (project|projects) are you)", re.IGNORECASE)
_MOTIVATION = re.compile(
    r"\b(why (do|would) you want|why are you (\w+ing about |\w+ing )?(interested|looking|leaving)|"
    r"why (did|do) you (leave|choose|apply)|leav(e|ing) your|(draws|attracts|brings|excites) you|"
    r"appeals? to you|interests you|motivates you|why (do|would) you like|"
    r"why (this|our) (company|role|team|position)|why .{0,40}\b(work (for|at|here)|join)\b|"
    r"looking for in (your|a) (next )?(role|job|position)|career goals?|long term goals?|"
    r"where do you see yourself|good fit|first (day|six months|90 days)|hope to achieve|"
    r"start date|compensation expectations|questions do you have for us|prepare for this)", re.IGNORECASE)
_TECHNICAL = re.compile(
    r"^(what (is|are) (a |an |the )?[\w\- ]{1,40}\?$|what is the difference|how (does|do|would you) "
    r"(implement|design|train|evaluate|choose|select|compute|detect|handle missing|deal with overfitting)|"
    r"explain\b|which (models?|algorithms?|metrics?)|can you (explain|describe) (how|what)|"
    r"(write|implement) (a |an )?(function|program|query|algorithm))", re.IGNORECASE)
_COMPANY = re.compile(
    r"\b(how many|policy|policies|benefits?|salary|salaries|pay(ed|s)?\b|leave|vacation|holiday|insurance|"
    r"401k|pension|equity|options|stock|onboarding|relocat|remote|office|visa|clearance|background check|"
    r"badge|interview process|hiring process|recruiter|apply|application|where can I|can I|do I|will I|"
    r"is there|are there|does (the company|it)|do you (offer|have|provide|pay|sponsor))\b", re.IGNORECASE)


_ASKER_IS_CANDIDATE = re.compile(r"\b(I|I'm|I’m|my|me)\b")  # an FAQ: the candidate asks the company
_TO_CANDIDATE = re.compile(r"\b(you|your|you're|you’re|yourself)\b", re.IGNORECASE)
# "you" as anyone: "How do you reverse a linked list?", "Do you offer relocation?" (the company)
_GENERIC_YOU = re.compile(
    r"\b(how (do|would|can|should) you (reverse|implement|design|build|compute|calculate|sort|find|detect|"
    r"check|choose|select|train|evaluate|validate|tune|test|measure|handle missing|deal with (overfitting|"
    r"imbalanced))|do you (offer|provide|pay|sponsor|match|cover|reimburse)|you(’re| are) given|imagine you have|"
    # knowledge questions put to "you": "Which regularization techniques do you know?"
    r"do you know|would you (use|prefer|choose|pick|recommend)|can you (use|explain)|how can you|"
    r"which [\w\- ]+ (do|would) you|what [\w\- ]+ do you know|if you have|you have (a|an) \w+|"
    r"(validate|train|tune) your (models?|data)|your code|"
    # the company as "you": "Do you have any entry-level roles?", "your open positions"
    r"do you have any|are you able to|your (open|posted) (positions|roles|jobs)|"
    r"your (company|office|benefits|hiring|interview)\b)\b",
    re.IGNORECASE)


def question_category(question: str, company: str = "") -> str:
    """The category of `question` (one of CATEGORIES). A question the interviewer asks the
    candidate ("you") is about them: motivation when it asks for reasons or wishes, else
    behavioural; a question a candidate asks ("I", "my") or one on policies is company; the rest
    (knowledge questions, "you" meaning anyone) technical."""
    text = " ".join(question.split())
    to_candidate = bool(_TO_CANDIDATE.search(text)) and not _GENERIC_YOU.search(text)
    asks_company = bool(_ASKER_IS_CANDIDATE.search(text)) and not to_candidate
    if not asks_company and _MOTIVATION.search(text):
        return "motivation"
    if not asks_company and (to_candidate or _BEHAVIOURAL.search(text)):
        return "behavioural"
    if asks_company or _COMPANY.search(text) or (company and company.lower() in text.lower()):
        return "company"
    return "technical"
