"""memo.core.star: STAR stories from Markdown, and STAR parts in a spoken answer."""

from memo.core.star import PARTS, is_story, parse_story, star_parts

STORY = """---
title: ignored here
---
# Moving billing without downtime

## Situation
Our billing service ran on a database that was being retired.

## Task
I had to move it within one quarter, with no missed invoices.

## Actions I took
I wrote a dual-write layer and compared both stores nightly.
### A detail
Shadow reads for two weeks.

## Result and what I learned
We switched over in March with zero failed invoices.
"""


def test_a_story_has_its_four_parts_under_their_headings():
    story = parse_story(STORY, skills="ownership, deadline")
    assert story.title == "Moving billing without downtime" and story.skills == ["ownership", "deadline"]
    assert story.missing == [] and set(story.parts) == set(PARTS)
    assert story.parts["task"] == "I had to move it within one quarter, with no missed invoices."
    assert "Shadow reads for two weeks." in story.parts["action"]  # sub-headings stay in their part
    assert story.parts["result"].startswith("We switched over in March")
    text = story.as_text()
    assert text.splitlines()[0] == "Moving billing without downtime"
    assert "Situation: Our billing service" in text and text.index("Task:") < text.index("Action:") < text.index("Result:")


def test_a_story_without_some_parts_names_them():
    story = parse_story("# Oncall\n## Situation\nPager at 3am.\n## Result\nFixed.\n")
    assert story.missing == ["task", "action"]
    assert is_story("# Oncall\n## Situation\nx") and not is_story("# Resume\n## Experience\nx")


def test_star_parts_of_a_spoken_answer():
    answer = ("When I was at my last job, the release pipeline kept failing. My goal was to cut the failures. "
              "I set up a flaky-test quarantine and talked to each team. As a result, failed releases fell by 60%.")
    assert star_parts(answer) == {"situation": True, "task": True, "action": True, "result": True}
    assert star_parts("I am a hard worker and I like teams.") == {p: False for p in PARTS}
    assert star_parts("Situation: a bug. Result: fixed.") == {"situation": True, "task": False, "action": False,
                                                              "result": True}
