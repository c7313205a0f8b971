"""One seed per session, one per test derived from it: a chaos failure reproduces exactly.

The session seed is given (``--stillme-chaos-seed 1234``), taken from pytest's
cache (``last``) or drawn at random; the controller stores it in the cache and
hands it to every xdist worker, so ``-n 0`` and ``-n 2`` inject the same
faults.  A test's seed hashes the session seed with the test's node id, so it
does not depend on which tests ran before it or on which worker.
"""

from __future__ import annotations

import os
from typing import Any

__all__ = ["CACHE_KEY", "SeedError", "derive", "resolve_session_seed", "seed_for_test"]

CACHE_KEY = "stillme/chaos/seed"


class SeedError(Exception):
    """The seed cannot be resolved (``last`` without a stored seed)."""


def resolve_session_seed(setting: int | str, cache: Any) -> tuple[int, str]:
    """The session's seed and how it was chosen ("given", "last" or "random")."""
    if isinstance(setting, int):
        return setting, "given"
    if setting == "last":
        if cache is None:
            raise SeedError("--stillme-chaos-seed last needs pytest's cache, which is disabled (-p no:cacheprovider)")
        stored = cache.get(CACHE_KEY, None)
        if not isinstance(stored, int) or isinstance(stored, bool) or not 0 <= stored < 2**64:
            raise SeedError(
                "--stillme-chaos-seed last: no seed stored in pytest's cache yet "
                "(run a session without it first, or give a number)"
            )
        return stored, "last"
    return int.from_bytes(os.urandom(4), "big"), "random"


def derive(seed: int, *parts: object) -> int:
    """A 64-bit seed from ``seed`` and any labels: stable across processes and Python versions."""
    import hashlib

    text = "\x1f".join([str(seed), *map(str, parts)])
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "big")


def seed_for_test(session_seed: int, nodeid: str) -> int:
    """The seed of one test: the same for that test id whatever else runs, and wherever."""
    return derive(session_seed, nodeid)
