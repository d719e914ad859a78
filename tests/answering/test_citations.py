"""Citations are checked against the documents the model was given."""

from memo.answering.citations import attribute, citations, cited_numbers, recite


def test_citations_are_checked_against_the_documents():
    sources = [{"source": "a.md", "text": "Tidewell offers 27 days of paid leave every year."},
               {"source": "b.md", "text": "The learning budget is CAD 2,000 per year."}]
    assert cited_numbers("Leave is 27 days [1], budget [2][1] and [2, 3].") == [1, 2, 3]
    found, invalid = citations("Leave is 27 days [1] and the budget [7].", sources)
    assert [c["n"] for c in found] == [1] and found[0]["how"] == "cited" and invalid == [7]
    found, invalid = citations("I would get a learning budget of CAD 2,000 per year.", sources)
    assert [(c["n"], c["how"]) for c in found] == [(2, "attributed")] and invalid == []
    assert attribute("Completely unrelated words about sailing boats here.", [s["text"] for s in sources]) == []
    question = "How many days of paid leave does Tidewell offer every year?"
    echo = "The number of days of paid leave Tidewell offers every year is 689."
    assert attribute(echo, [s["text"] for s in sources]) == [1]  # restating the question "matches" ...
    assert attribute(echo, [s["text"] for s in sources], question) == []  # ... unless echoes are ignored


DOCS = ["Each employee has two paid volunteering days per year.",
        "After five years you can take a paid sabbatical of four weeks.",
        "Every employee receives 27 days of paid leave per year, on top of public holidays."]


def test_a_marker_on_the_wrong_document_moves_to_the_one_that_holds_the_words():
    question = "How many days of paid leave does Tidewell offer?"
    answer = "Every employee receives 27 days of paid leave per year [2]."
    assert recite(answer, DOCS, question) == "Every employee receives 27 days of paid leave per year [3]."
    reasoning = "Document [1] says ##begin_quote##Every employee receives 27 days of paid leave##end_quote##."
    assert recite(reasoning, DOCS, question) == reasoning.replace("[1]", "[3]")


def test_right_unsupported_and_listed_markers_stay_as_written():
    right = "Every employee receives 27 days of paid leave per year [3]. A sabbatical lasts four weeks [2]."
    assert recite(right, DOCS) == right
    unsupported = "I love sailing on quiet lakes at dawn [1]."  # no document holds it: nothing to move to
    assert recite(unsupported, DOCS) == unsupported
    listed = "Every employee receives 27 days of paid leave per year [1, 2]."
    assert recite(listed, DOCS) == listed
    short = "Yes [2]."  # too few words to judge
    assert recite(short, DOCS) == short
    out_of_range = "Every employee receives 27 days of paid leave per year [9]."
    assert recite(out_of_range, DOCS) == out_of_range  # reported as invalid by citations(), not guessed

