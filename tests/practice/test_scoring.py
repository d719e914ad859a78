"""memo.practice.scoring: pure functions, no model."""

from memo.practice.scoring import contradictions, filler_rate, follow_up, key_facts, said, score

HANDBOOK = ["# Leave\n\nEvery employee gets 27 days of paid leave a year. Unused days carry over, up to five.",
            "# On-call\n\nEngineers share a one-week on-call rotation that hands over on Tuesdays."]
STORY = ["# Retries\n\nSituation: A colleague wanted immediate retries during failovers.\n\n"
         "Result: We shipped backoff and the next two failovers lost no events."]


def test_key_facts_are_the_evidence_sentences_that_answer_the_question():
    facts = key_facts("How many days of paid leave do employees get?", HANDBOOK)
    assert facts[0] == "Every employee gets 27 days of paid leave a year."
    assert said(facts[0], "You get 27 days of paid leave every year.")
    assert not said(facts[0], "You get 25 days of paid leave every year.")  # the number must be right


def test_a_wrong_number_is_a_contradiction_and_the_follow_up_asks_about_it():
    assert contradictions("I know Tidewell gives 25 days of leave.", HANDBOOK) == \
        ["you said 25 days; the documents say 27 days"]
    s = score("How many days of paid leave do employees get?", "company", "Tidewell gives 25 days of leave.", HANDBOOK)
    assert s.weakest == "contradiction" and s.contradictions
    assert follow_up(s).startswith("Are you sure? You said 25 days")
    right = score("How many days of paid leave do employees get?", "company",
                  "Every employee gets 27 days of paid leave a year, and up to five unused days carry over "
                  "into the next year, which I appreciate.", HANDBOOK)
    assert right.overall > s.overall + 40 and right.coverage == 1.0 and not right.contradictions


def test_a_story_answer_is_scored_on_star_and_missing_parts_are_followed_up():
    told = ("When I was at my last job, a colleague wanted immediate retries during failovers. My job was to keep "
            "the consumers reliable. I set up a replay of the failover and proposed backoff. As a result, we shipped "
            "backoff and the next two failovers lost no events. " * 3)
    s = score("Tell me about a time you disagreed with a teammate.", "behavioural", told, STORY)
    assert s.star == {"situation": True, "task": True, "action": True, "result": True} and s.coverage == 1.0
    thin = score("Tell me about a time you disagreed with a teammate.", "behavioural",
                 "I set up a replay of the failover and proposed backoff to my colleague.", STORY)
    assert thin.star["action"] and not thin.star["result"] and thin.overall < s.overall
    assert thin.weakest == "result" and follow_up(thin) == "How did it turn out, and what would you do differently?"


def test_length_and_filler():
    assert filler_rate("Um, I basically, like, you know, did it.") > 30
    assert filler_rate("I rebuilt the pipeline.") == 0
    long = score("Why Tidewell?", "motivation", "word " * 20_000, [])
    assert long.length == "long" and long.warnings and "20000 words" in long.warnings[0]
    assert long.coverage is None and long.weakest == "length"
    assert follow_up(long) == "Can you give me the short version, in two or three sentences?"
