"""Packing keeps the best hits that fit and skips long ones."""

from memo.retrieval.packing import pack, reading_order


def test_pack_keeps_best_hits_that_fit_and_skips_long_ones():
    sizes = {"a": 50, "b": 500, "c": 40, "d": 30}
    packed = pack(list(sizes), lambda chosen: sum(sizes[h] for h in chosen) <= 130)
    assert packed == ["a", "c", "d"]  # rank order kept; the long "b" skipped, not a stopper
    assert pack(["b"], lambda chosen: sum(sizes[h] for h in chosen) <= 100) == []


def test_the_best_hit_can_be_shown_last_next_to_the_question():
    assert reading_order(["best", "second", "third"], best_last=True) == ["third", "second", "best"]
    assert reading_order(["best", "second", "third"], best_last=False) == ["best", "second", "third"]
