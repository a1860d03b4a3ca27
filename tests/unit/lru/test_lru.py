"""The LRU map the render cache and the parse memo keep their values in: bounded by count
and by bytes, least recently used forgotten first, an oversized value never kept."""

from __future__ import annotations

import threading

from engine.lru import SizedLru


def test_the_least_recently_used_goes_first_when_the_bytes_pass_the_bound() -> None:
    lru: SizedLru[str, str] = SizedLru(max_bytes=10)
    assert lru.put("a", "A", 4) == 0
    assert lru.put("b", "B", 4) == 0
    assert lru.get("a") == "A"  # now b is the least recently used
    assert lru.put("c", "C", 4) == 1
    assert (lru.get("a"), lru.get("b"), lru.get("c")) == ("A", None, "C")
    assert (len(lru), lru.bytes) == (2, 8)


def test_the_entry_count_is_bounded_too() -> None:
    lru: SizedLru[int, int] = SizedLru(max_bytes=10**6, max_entries=3)
    forgotten = sum(lru.put(n, n, 1) for n in range(5))
    assert forgotten == 2 and len(lru) == 3
    assert [lru.get(n) for n in range(5)] == [None, None, 2, 3, 4]


def test_a_value_costing_too_much_is_never_kept_nor_replaces_the_old_one() -> None:
    lru: SizedLru[str, str] = SizedLru(max_bytes=100, max_value_bytes=10)
    lru.put("a", "small", 5)
    assert lru.put("a", "large", 11) == 0
    assert (lru.get("a"), lru.bytes) == ("small", 5)
    lru.put("a", "again", 7)  # replacing a value counts its cost once
    assert (lru.get("a"), lru.bytes, len(lru)) == ("again", 7, 1)


def test_forget_all_or_by_key() -> None:
    lru: SizedLru[tuple[str, int], int] = SizedLru(max_bytes=100)
    for repo in ("x", "y"):
        for n in range(3):
            lru.put((repo, n), n, 2)
    lru.forget(lambda key: key[0] == "x")
    assert (len(lru), lru.bytes, lru.get(("y", 1)), lru.get(("x", 1))) == (3, 6, 1, None)
    lru.forget()
    assert (len(lru), lru.bytes) == (0, 0)


def test_threads_putting_and_reading_keep_the_bytes_true() -> None:
    lru: SizedLru[int, int] = SizedLru(max_bytes=50)

    def work(offset: int) -> None:
        for n in range(2000):
            lru.put((offset + n) % 97, n, 3)
            lru.get(n % 97)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert lru.bytes == 3 * len(lru) <= 50
