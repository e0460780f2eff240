"""FNV-1a 32-bit, exactly as durable-rules computes it (``fnv1Hash32`` in state.c,
which xors each *signed* char), and the names and ids we choose with it.

durable-rules identifies a fact by ``fnv1a32(id)`` alone, so two facts whose ids
collide are silently treated as one; and its ``none()`` only cancels activations
reliably for aliases whose hash falls in slot 0 of a 16-slot table. We choose fact
ids whose hashes are pairwise distinct and aliases whose hash is in slot 0.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Iterator

_OFFSET = 2166136261
_PRIME = 16777619


def fnv1a32(text: str) -> int:
    h = _OFFSET
    for b in text.encode("utf-8"):
        h ^= b - 256 if b > 127 else b  # C `char` is signed on x86: sign-extended
        h = (h * _PRIME) & 0xFFFFFFFF
    return h


_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


def _base36(n: int) -> str:
    s = ""
    while True:
        n, r = divmod(n, 36)
        s = _DIGITS[r] + s
        if not n:
            return s


class FactIds:
    """Hands out fact ids whose FNV-1a 32 hashes are pairwise distinct.

    The sequence is deterministic (``f`` + base-36 digits); an id whose hash equals
    that of an earlier id, or of a ``reserve``d name, is skipped. Ids are produced in
    blocks of 36 that share a prefix, so each costs one xor and one multiply.
    """

    def __init__(self) -> None:
        self._prefix = 0
        self._block: list[str] = []
        self._used: set[int] = set()

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        while not self._block:
            self._fill()
        return self._block.pop()

    def _fill(self) -> None:
        prefix = "f" + _base36(self._prefix)
        self._prefix += 1
        hp = fnv1a32(prefix)
        used = self._used
        block = []
        for ch in _DIGITS:
            h = ((hp ^ ord(ch)) * _PRIME) & 0xFFFFFFFF
            if h not in used:
                used.add(h)
                block.append(prefix + ch)
        block.reverse()
        self._block = block

    def copy(self) -> "FactIds":
        """The same sequence from here on, independently."""
        other = FactIds()
        other._prefix, other._block, other._used = self._prefix, list(self._block), set(self._used)
        return other

    def take(self, n: int) -> list[str]:
        """The next ``n`` ids (as ``n`` calls of ``next`` would give them)."""
        out: list[str] = []
        while len(out) < n:
            while not self._block:
                self._fill()
            block, need = self._block, n - len(out)
            if len(block) <= need:
                out.extend(reversed(block))
                self._block = []
            else:
                out.extend(reversed(block[-need:]))
                del block[-need:]
        return out

    def reserve(self, text: str) -> None:
        self._used.add(fnv1a32(text))

    def __len__(self) -> int:
        return len(self._used)


@lru_cache(maxsize=1)
def slot0_aliases(count: int = 256) -> tuple[str, ...]:
    """Alias names (``x…``) whose FNV-1a 32 hash is 0 mod 16."""
    out: list[str] = []
    n = 0
    while len(out) < count:
        name = "x" + _base36(n)
        if fnv1a32(name) % 16 == 0:
            out.append(name)
        n += 1
    return tuple(out)
