"""memo.answering.stories: a behavioural question gets one of the candidate's stories, cited, or
the kind of story that would answer it; pure functions, no model."""

from memo.answering.stories import asks_for_story, fits, kind_of_story, story_evidence, told

STORY = ("# Disagreeing with a teammate about retry storms\n\nShows: conflict, disagreement.\n\n"
         "Situation: A colleague wanted immediate retries.\n\nTask: I owned the consumers.\n\n"
         "Action: I replayed the last failover with both designs.\n\nResult: We shipped backoff and lost no events.")
NOTES = "# Why I am applying\n\nI want my work to matter."


def contexts(*texts, mine=True):
    return [{"source": f"doc{i}.md", "text": t, "mine": mine, "dense": 0.1} for i, t in enumerate(texts)]


def test_a_story_fits_by_its_title_and_skills():
    assert fits("Tell me about a time you disagreed with a colleague.", STORY)
    assert fits("Describe a conflict at work.", STORY)
    assert not fits("Tell me about a time you failed.", STORY)
    assert fits("Tell me about a time you failed.", STORY, similarity=0.7)  # very close passages fit too


def test_the_story_told_in_star_order_and_cited():
    answer = told(STORY, 2)
    assert answer == ("A colleague wanted immediate retries. I owned the consumers. I replayed the last failover "
                      "with both designs. We shipped backoff and lost no events. [2]")


def test_a_behavioural_question_gets_the_fitting_story_as_its_evidence():
    found = story_evidence("Tell me about a time you disagreed with a teammate.", "Acme", contexts(NOTES, STORY))
    source, units, answer = found
    assert source == "doc1.md" and answer == told(STORY, 2)
    assert [u.text for u in units] == ["A colleague wanted immediate retries.", "I owned the consumers.",
                                       "I replayed the last failover with both designs.",
                                       "We shipped backoff and lost no events."]
    assert all(u.mine and u.doc == 2 for u in units)


def test_no_fitting_story_says_which_kind_would_answer():
    source, units, answer = story_evidence("Tell me about a time you failed.", "Acme", contexts(STORY))
    assert source == "none" and units == []
    assert answer.startswith("I don't have a story written down for that yet. I would tell you about a time I failed")
    # no documents of the candidate's at all: the same, never an invented story
    assert story_evidence("Give an example of a deadline you missed.", "Acme", [])[2].startswith("I don't have")
    # a company's document is never told as the candidate's story
    assert story_evidence("Tell me about a time you disagreed with a teammate.", "Acme",
                          contexts(STORY, mine=False))[0] == "none"
    # a question that asks for an opinion, not a story, is answered like any other
    assert story_evidence("What are you hoping to learn in your next position?", "Acme", contexts(STORY)) is None


def test_kind_of_story_is_in_the_candidates_words():
    assert kind_of_story("Tell me about a time you had to push back on your manager.") == \
        "a time I had to push back on my manager"
    assert kind_of_story("Give an example of a goal you reached.") == "a goal I reached"
    assert asks_for_story("Describe a situation where you led.") and not asks_for_story("What motivates you?")
