"""memo.core.categories: whose documents answer a question (measured on the public sets by
benchmarks/eval_categories.py; these are the team's own questions)."""

import pytest

from memo.core.categories import CANDIDATE_SIDE, question_category


@pytest.mark.parametrize("question, category", [
    ("Tell me about a time you disagreed with a teammate.", "behavioural"),
    ("How do you handle working asynchronously with a remote team?", "behavioural"),
    ("What's the hardest bug you've fixed?", "behavioural"),
    ("Describe your ideal team.", "behavioural"),
    ("Why do you want to work at Tidewell?", "motivation"),
    ("What draws you to this role?", "motivation"),
    ("How many days of paid leave does Tidewell offer?", "company"),
    ("What happens in my first week?", "company"),
    ("Do you offer relocation support?", "company"),
    ("Do you have any entry-level roles?", "company"),
    ("What is eventual consistency?", "technical"),
    ("Which regularization techniques do you know?", "technical"),
    ("How do you reverse a linked list?", "technical"),
])
def test_question_category(question, category):
    assert question_category(question) == category


def test_a_question_naming_the_company_is_about_it():
    assert question_category("Is the Tidewell platform open source?", "Tidewell") == "company"
    assert question_category("Is the platform open source?") == "technical"
    assert set(CANDIDATE_SIDE) == {"behavioural", "motivation"}
