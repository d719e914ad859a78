"""Citations are checked against the documents the model was given."""

from memo.answering.citations import attribute, citations, cited_numbers


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
