"""memo.answering.stories: a behavioural question gets one of the candidate's stories, cited, or
the kind of story that would answer it; pure functions, no model."""

from memo.answering.stories import asks_for_story, fits, kind_of_story, story_answer, story_source, tells, told

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
    assert tells(answer, STORY, 2) and not tells(answer, STORY, 1)  # citing another document is not telling it


def test_an_invented_story_is_replaced_by_the_candidates_own():
    invented = "Once my manager and I argued about tabs and spaces, and I won [2]."
    replaced = story_answer("Tell me about a time you disagreed with a teammate.", invented, contexts(NOTES, STORY))
    assert replaced == told(STORY, 2) and story_source(replaced, contexts(NOTES, STORY)) == "doc1.md"
    assert story_answer("Tell me about a time you disagreed with a teammate.", told(STORY, 2), contexts(NOTES, STORY)) is None


def test_no_fitting_story_says_which_kind_would_answer():
    answer = story_answer("Tell me about a time you failed.", "I failed at Google once [1].", contexts(STORY))
    assert answer.startswith("I don't have a story written down for that yet. I would tell you about a time I failed")
    assert story_source(answer, contexts(STORY)) == "none"
    # no documents of the candidate's at all: the same, never an invented story
    assert story_answer("Give an example of a deadline you missed.", "Sure! At Acme...", []).startswith("I don't have")
    # a question that asks for an opinion, not a story, keeps the model's answer
    assert story_answer("What are you hoping to learn in your next position?", "Go.", contexts(STORY)) is None


def test_kind_of_story_is_in_the_candidates_words():
    assert kind_of_story("Tell me about a time you had to push back on your manager.") == \
        "a time I had to push back on my manager"
    assert kind_of_story("Give an example of a goal you reached.") == "a goal I reached"
    assert asks_for_story("Describe a situation where you led.") and not asks_for_story("What motivates you?")
