"""A binary min-heap of (key, value) pairs in S: the timer heap and the network emulator's heap
of due readiness.  ``base`` is the heap's first word, ``n`` the index of its length word; the
caller holds the heap's lock.  heap_due/heap_sleep serve the thread that serves a heap."""
from .layout import HEAP_KEY, HEAP_VALUE, HEAP_WORDS
from .mem import Sarr, boolean, core, i64, void

SERVER_MAX_SLEEP_NS = 100_000_000   # the timer and network threads re-check the run this often


@core(i64(Sarr, i64, i64))
def _key(S, base, i):
    return S[base + HEAP_WORDS * i + HEAP_KEY]


@core(void(Sarr, i64, i64, i64))
def _swap(S, base, i, j):
    a, b = base + HEAP_WORDS * i, base + HEAP_WORDS * j
    S[a + HEAP_KEY], S[b + HEAP_KEY] = S[b + HEAP_KEY], S[a + HEAP_KEY]
    S[a + HEAP_VALUE], S[b + HEAP_VALUE] = S[b + HEAP_VALUE], S[a + HEAP_VALUE]


@core(void(Sarr, i64, i64))
def _siftup(S, base, i):
    while i > 0:
        parent = (i - 1) // 2
        if _key(S, base, parent) <= _key(S, base, i):
            break
        _swap(S, base, i, parent)
        i = parent


@core(void(Sarr, i64, i64, i64, i64))
def heap_push(S, base, n, key, value):
    i = S[n]
    S[base + HEAP_WORDS * i + HEAP_KEY] = key
    S[base + HEAP_WORDS * i + HEAP_VALUE] = value
    S[n] = i + 1
    _siftup(S, base, i)


@core(i64(Sarr, i64, i64))
def heap_pop(S, base, n):
    """Remove the smallest key (the heap must not be empty); returns its value."""
    value = S[base + HEAP_VALUE]
    _remove_at(S, base, n, 0)
    return value


@core(boolean(Sarr, i64, i64, i64))
def heap_remove(S, base, n, value):
    """Remove the entry holding ``value`` (deltimer); False when there is none."""
    for i in range(S[n]):
        if S[base + HEAP_WORDS * i + HEAP_VALUE] == value:
            _remove_at(S, base, n, i)
            return True
    return False


@core(void(Sarr, i64, i64, i64))
def _remove_at(S, base, n, i):
    """Move the last entry into slot i and restore the heap order around it."""
    last = S[n] - 1
    _swap(S, base, i, last)
    S[n] = last
    if i < last:
        _siftup(S, base, i)
        _siftdown(S, base, last, i)


@core(void(Sarr, i64, i64, i64))
def _siftdown(S, base, last, i):
    while True:
        small = i
        for c in (2 * i + 1, 2 * i + 2):
            if c < last and _key(S, base, c) < _key(S, base, small):
                small = c
        if small == i:
            return
        _swap(S, base, i, small)
        i = small


@core(boolean(Sarr, i64, i64, i64))
def heap_due(S, base, n, now):
    """True when the heap is not empty and its smallest key is <= now."""
    return S[n] > 0 and _key(S, base, 0) <= now


@core(i64(Sarr, i64, i64, i64))
def heap_sleep(S, base, n, now):
    """How long a thread serving the heap may sleep: until the smallest key, at most
    SERVER_MAX_SLEEP_NS (so that it notices the end of the run)."""
    if S[n] == 0:
        return SERVER_MAX_SLEEP_NS
    return min(max(_key(S, base, 0) - now, 0), SERVER_MAX_SLEEP_NS)
