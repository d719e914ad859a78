"""The loop guard's rules as pure functions of token lists, and its effect on a real tiny model."""

from memo.llm.loop_guard import banned_next, ngrams


def test_a_made_up_ngram_may_not_recur():
    generated = [5, 6, 7, 8, 5, 6, 7]  # "5 6 7 8" was written; "5 6 7" again must not end in 8
    assert banned_next(generated, 4, set()) == {8}


def test_an_ngram_copied_from_the_prompt_may_appear_twice_but_not_three_times():
    prompt = ngrams([1, 5, 6, 7, 8, 2], 4)
    quoted_then_restating = [5, 6, 7, 8, 9, 5, 6, 7]
    assert banned_next(quoted_then_restating, 4, prompt) == set()
    third_time = [5, 6, 7, 8, 9, 5, 6, 7, 8, 9, 5, 6, 7]
    assert banned_next(third_time, 4, prompt) == {8}


def test_nothing_is_banned_before_an_ngram_can_repeat_or_when_off():
    assert banned_next([5, 6], 4, set()) == set()
    assert banned_next([5, 6, 7, 8, 5, 6, 7], 0, set()) == set()


def test_different_continuations_of_a_prefix_are_banned_one_by_one():
    generated = [1, 2, 3, 4, 1, 2, 3, 9, 1, 2, 3]
    assert banned_next(generated, 4, set()) == {4, 9}


def test_the_guard_ends_the_answer_at_its_line_break_and_bans_a_loop(smollm2_dir):
    import torch
    from transformers import AutoTokenizer

    from memo.llm.loop_guard import LoopGuard

    tokenizer = AutoTokenizer.from_pretrained(smollm2_dir)
    prompt = tokenizer("Document [1]: You get 27 days of leave.\n", add_special_tokens=False)["input_ids"]
    eos = tokenizer.eos_token_id
    guard = LoopGuard(tokenizer, len(prompt), 4, [eos])

    def step(generated_text: str) -> torch.Tensor:
        ids = prompt + tokenizer(generated_text, add_special_tokens=False)["input_ids"]
        for cut in range(len(prompt) + 1, len(ids) + 1):  # the guard sees every step, as in generate
            scores = guard(torch.tensor([ids[:cut]]), torch.zeros(1, len(tokenizer)))
        return scores[0]

    ended = step("Document [1] says ##begin_quote##27 days##end_quote##.\n<ANSWER>: You get 27 days.\n")
    assert torch.isfinite(ended).sum() == 1 and torch.isfinite(ended[eos])
    guard = LoopGuard(tokenizer, len(prompt), 4, [eos])
    reasoning_line = step("Document [1] says ##begin_quote##27 days##end_quote##.\n")
    assert torch.isfinite(reasoning_line).sum() > 1  # a line break before the answer ends nothing
    guard = LoopGuard(tokenizer, len(prompt), 4, [eos])
    looping = tokenizer(" I am keen to join the team. I am keen to join", add_special_tokens=False)["input_ids"]
    scores = step(" I am keen to join the team. I am keen to join")
    repeat = looping[looping.index(looping[-1]) + 1]  # what followed "keen to join" the first time
    assert scores[repeat] == -float("inf")


def test_format_markers_may_recur_but_not_what_surrounds_them():
    from memo.llm.loop_guard import in_marker

    begin = (712, 21083, 79, 31942, 712)  # "##begin_quote##" in SmolLM2's tokens
    second_quote = [1, 2, *begin, 3, 4, 9, *begin[:3]]  # writing the marker a second time
    assert in_marker(second_quote, 3, [begin])
    assert banned_next(second_quote, 4, set(), [begin]) == set()
    assert banned_next(second_quote, 4, set()) == {31942}  # without the exemption: garbled markers
    loop_after = [*begin, 5, 6, 7, 8, 5, 6, 7]
    assert not in_marker(loop_after, 3, [begin]) and banned_next(loop_after, 4, set(), [begin]) == {8}
