"""Copy-constrained quotes: the rules as pure functions of strings, and the processor on the real
default tokenizer."""

from memo.llm.prompt import DOCS_CLOSE, DOCS_OPEN, ContextDoc, documents_block
from memo.llm.quote_copy import (
    at_word_end,
    closes,
    continues_close,
    continues_copy,
    documents_text,
    next_in_source,
    question_text,
    quote_state,
    sentence_done,
)

SOURCE = documents_text(documents_block([ContextDoc("leave.md", "Leave", "You get 27 days of paid leave.\n"
                                                    "Unused days\ncarry over, up to 60.")]))


def test_only_the_documents_block_is_the_source():
    prompt = f"system rules 99 days\n{DOCS_OPEN}\nDocument [1] (leave.md):\n  You get   27 days.\n{DOCS_CLOSE}\nQuestion: 99?"
    assert documents_text(prompt) == "You get 27 days."
    labelled = documents_block([ContextDoc("faq.md", "Do I get leave?", "You get 27 days.")])
    assert documents_text(labelled) == "Do I get leave? You get 27 days."  # the title, not the file
    assert documents_text("Question: no documents here") == ""
    assert question_text(prompt) == "99?"
    assert question_text("<|im_start|>user\nQuestion: Do I get leave?<|im_end|>\n<|im_start|>assistant\n") == \
        "Do I get leave?"


def test_the_state_of_the_last_quote_copying_closing_or_outside():
    assert quote_state("Document [1] says ##begin_quote##You get") == ("copy", "You get")
    assert quote_state("says ##begin_quote##") == ("copy", "")
    assert quote_state("Document [1] says ##begin_quote##You get 27 days##end") == ("close", "##end")
    assert quote_state("Document [1] says ##begin_quote##You get##end_quote##.\n<ANSWER>: 27") is None
    assert quote_state("Document [1] says ##begin_quote##You get##end_quote##") == ("end", "")
    assert quote_state("Document [1] says ##begin_quote##You get##end_quote##.") == ("end", ".")
    assert quote_state("<ANSWER>: You get 27 days.") is None


def test_a_closing_quote_writes_the_end_marker_and_nothing_else():
    assert continues_close("##", "end") and continues_close("##end_quote", "##")
    assert continues_close("##end_quote#", "#.")  # completing it, with what follows it
    assert not continues_close("##", "nitalice") and not continues_close("##end", "##")
    assert continues_close("", ".", ".\n") and continues_close(".", "\n", ".\n") and continues_close("", ".\n\n", ".\n")
    assert not continues_close(".", "##", ".\n") and not continues_close("", "Parental", ".\n")


def test_a_quote_may_grow_only_along_the_documents_text():
    assert continues_copy("You get", " 27", SOURCE)
    assert continues_copy("", "You", SOURCE)  # the first word, with or without its space
    assert continues_copy("", " You", SOURCE)
    assert not continues_copy("You get", " 30", SOURCE)  # an invented figure
    assert continues_copy("days of paid leave. Unused days", " carry", SOURCE)  # across a line break
    assert not continues_copy("You get 27 days of", " unpaid", SOURCE)
    assert continues_copy("You get", " ", SOURCE) and not continues_copy("up to 60.", " ", SOURCE)
    assert closes("##") and closes(" ##") and not closes(" 27")
    link = documents_text(documents_block([ContextDoc("jobs.md", "", "Roles are on join.tts.gov. Apply there.")]))
    assert sentence_done("Roles are on join.tts.gov.", link) and sentence_done("Roles are on join.tts.gov. ", link)
    assert not sentence_done("Roles are on join.", link) and not sentence_done("Roles are on", link)
    assert sentence_done("Apply there.", link)
    bold = documents_text(documents_block([ContextDoc("leave.md", "", "Everyone receives **27 days** of leave.")]))
    assert at_word_end("Everyone receives **27 days**", bold) and at_word_end("Everyone receives", bold)
    assert not at_word_end("Everyone receives *", bold) and not at_word_end("Everyone rec", bold)
    assert next_in_source("You get 27", SOURCE, 10) == " days of p"
    assert next_in_source("You get ", SOURCE, 6) == "27 day" and next_in_source("up to 60.", SOURCE) == ""


def test_the_processor_keeps_a_quote_on_the_documents(smollm2_dir):
    import torch
    from transformers import AutoTokenizer

    from memo.llm.quote_copy import QuoteCopy

    tokenizer = AutoTokenizer.from_pretrained(smollm2_dir)
    prompt = tokenizer(f"{DOCS_OPEN}\nDocument [1]: Leave. Do I get leave? You get 27 days of paid leave.\n"
                       f"{DOCS_CLOSE}\n\nQuestion: Tell me: do I get leave", add_special_tokens=False)["input_ids"]

    def token(text: str) -> int:
        return tokenizer(text, add_special_tokens=False)["input_ids"][0]

    def scores_after(text: str, favourite: str) -> torch.Tensor:
        ids = prompt + tokenizer(text, add_special_tokens=False)["input_ids"]
        scores = torch.zeros(1, len(tokenizer))
        for likely in (" paid", " You", "?"):
            scores[0, token(likely)] = 5.0  # likely copies
        scores[0, token(favourite)] = 10.0  # the model's pick
        return QuoteCopy(tokenizer, len(prompt))(torch.tensor([ids]), scores)[0]

    inside = scores_after("Document [1] says ##begin_quote##You get 27 days of", " unpaid")
    assert inside[token(" unpaid")] == -float("inf") and torch.isfinite(inside[token(" paid")])
    assert torch.isfinite(inside).sum() < 40  # only a few likely tokens survive
    done = scores_after("Document [1] says ##begin_quote##You get 27 days of paid leave.", " unpaid")
    left = [tokenizer.decode([t]) for t in torch.isfinite(done).nonzero().flatten().tolist()]
    assert left and all(closes(piece) for piece in left)  # nothing follows "leave.": it must close
    said = scores_after("Document [1] says ##begin_quote##Do I get leave? You get 27 days of paid leave.", " paid")
    assert not torch.isfinite(said[token(" paid")])  # a sentence that says something: it closes
    answer = scores_after("Document [1] says ##begin_quote##You get 27 days##end_quote##.\n<ANSWER>: You get", " unpaid")
    assert torch.isfinite(answer).all()  # the final answer is not constrained

    asked = scores_after("Document [1] says ##begin_quote##Do I get leave?", "##")
    assert asked[token("##")] == -float("inf") and torch.isfinite(asked[token(" You")])  # on to the answer
    echoed = scores_after("Document [1] says ##begin_quote##Leave. Do I get leave", "##")
    assert echoed[token("##")] == -float("inf")  # only the question's words: it may not close yet
    pushed = scores_after("Document [1] says ##begin_quote##Leave. Do I get leave?", "##")
    assert torch.isfinite(pushed[token(" You")])
    lost = scores_after("Document [1] says ##begin_quote##Leave. Do I get", "##")  # " leave" not likely
    assert torch.isfinite(lost).sum() == 1 and torch.isfinite(lost[token(" leave")])  # the document's next
    forced = scores_after("Document [1] says ##begin_quote##You get 27 days##", " unpaid")
    assert torch.isfinite(forced).sum() == 1 and torch.isfinite(forced[token("end")])  # ##end_quote##
