"""layout.py's allocation: declarations take disjoint words and every offset is one of them."""
import pytest

from gmpbench.runtime import layout as L


def test_declarations_are_disjoint_and_named():
    L.check_tables(vars(L), (L._G, L._M, L._P, L._S, L._C, L._W, L._X))
    assert L.SCHED_SIZE > L.S_KNOBS + L.KNOBS_MAX - 1
    assert L.C_SENDQ - L.C_RECVQ == L.WAITQ_WORDS


def test_a_hand_numbered_offset_is_refused():
    t = L.Table("demo", "D_")
    names = {"D_A": t.word(), "D_B": t.words(3), "D_C": 2}     # D_C = 2 sits inside D_B
    with pytest.raises(AssertionError, match="D_C = 2 is not a declaration"):
        L.check_tables(names, (t,))


def test_two_names_for_one_word_and_unnamed_words_are_refused():
    t = L.Table("demo", "D_")
    a = t.word()
    with pytest.raises(AssertionError, match="same word"):
        L.check_tables({"D_A": a, "D_B": a}, (t,))
    t.word()
    with pytest.raises(AssertionError, match="has no name"):
        L.check_tables({"D_A": a}, (t,))


def test_own_line_words_are_alone_on_their_cache_line():
    t = L.Table("demo", "D_")
    t.word()
    hot = t.own_line()
    after = t.word()
    assert hot % L.LINE == 0 and after == hot + L.LINE
    assert t.end() % L.LINE == 0
    for a in (L.P_RUNQHEAD, L.P_RUNQTAIL, L.M_PARK):
        assert a % L.LINE == 0
