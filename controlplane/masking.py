"""Secret values, and their common encodings, replaced by ``********`` wherever Weir writes text:
an attempt's log lines, outputs, labels and error messages, the messages tasks build from the
credentials they were given, the executions the CLI shows.

Each value is masked as written, in any letter case (``| upper``), with up to three separator
characters between its characters (``split('') | join(' ')``, ``s-e-c-r-e-t``), and as its
base64 (standard and URL-safe, with or without padding), URL encoding and JSON escaping. A value
a script transforms by itself (reversed, hashed, encrypted) is out of reach.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import urllib.parse
from collections.abc import Iterable
from typing import Any

MASK = "********"
_SHORTEST = 3
"""By default shorter values are not masked: masking them would hide ordinary text."""
_SPREAD = 6
"""From this length a value is also found with separators between its characters."""
_SEPARATORS = r"[\s\W_]{0,3}"


def encodings(value: str, shortest: int = _SHORTEST) -> set[str]:
    """``value`` as the common encodings write it (each at least ``shortest`` long)."""
    raw = value.encode("utf-8")
    found = {value, urllib.parse.quote(value, safe=""), urllib.parse.quote_plus(value)}
    found.add(json.dumps(value)[1:-1])
    for encoded in (base64.b64encode(raw), base64.urlsafe_b64encode(raw)):
        text = encoded.decode("ascii")
        found |= {text, text.rstrip("=")}
    return {text for text in found if len(text) >= shortest}


def _pattern(value: str) -> str:
    if len(value) < _SPREAD:
        return re.escape(value)
    return _SEPARATORS.join(re.escape(char) for char in value)


class Masker:
    """Secret values (an attempt's, a task's credentials), and the one pattern that finds them all.

    ``shortest``: values (and lines of values) shorter than this are not masked; a task that knows
    a text is a credential (a password it was given) may lower it.
    """

    def __init__(self, values: Iterable[str | None] = (), *, shortest: int = _SHORTEST) -> None:
        self._shortest = max(shortest, 1)
        self._values: set[str] = set()
        self._regex: re.Pattern[str] | None = None
        self._lock = threading.Lock()
        for value in values:
            self.add(value)

    def add(self, value: str | None) -> None:
        """Mask ``value`` from now on (each line of a multi-line value too); None and values too
        short are ignored."""
        if not value or not value.strip():
            return
        lines = {line.strip() for line in value.splitlines()}
        found: set[str] = set()
        for text in {value, *lines}:
            if len(text) >= self._shortest:
                found |= encodings(text, self._shortest)
        with self._lock:
            if found <= self._values:
                return
            self._values |= found
            patterns = [_pattern(text) for text in sorted(self._values, key=len, reverse=True)]
            self._regex = re.compile("|".join(patterns), re.IGNORECASE)

    def mask(self, text: str) -> str:
        regex = self._regex
        return text if regex is None else regex.sub(MASK, text)

    def mask_value(self, value: Any) -> Any:
        """``value`` with every string in it masked (mappings and lists walked, keys too)."""
        if self._regex is None:
            return value
        if isinstance(value, str):
            return self.mask(value)
        if isinstance(value, dict):
            return {self.mask_value(k): self.mask_value(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return type(value)(self.mask_value(item) for item in value)
        return value
