"""Text helpers shared by every layer."""

from memo.core.text import echoes


def test_an_answer_echoes_the_question_when_it_adds_no_word_of_its_own():
    question = "When and where do I get my Carta invite?"
    assert echoes("When and where do I get my Carta invite?", question)
    assert echoes("You get your Carta invite.", question)
    assert not echoes("The invite takes 1-3 weeks after the board meeting.", question)
    assert not echoes("", question) and not echoes("Yes.", question)  # nothing said is no echo
    assert echoes("Document [4] states that you get your Carta invite [4].", question)  # framing aside
