"""Java's glob syntax, as Kestra's file patterns use it (``outputFiles``, namespace files, git
paths): ``**`` crosses directories, ``*`` and ``?`` do not, ``{a,b}`` and ``[!a-z]`` as usual.

``**`` followed by ``/`` stands for any number of folders, none included (``**/a.txt`` matches
``a.txt``); anywhere else it stands for any text, slashes included (``**.json`` matches
``a/b.json``). That second form is Java's alone: Python's fnmatch and pathlib, and wcmatch's
globstar (which is ``**`` only as a whole path segment), all read it as ``*``.
"""

from __future__ import annotations

import functools
import re


@functools.lru_cache(maxsize=256)
def _glob_regex(pattern: str) -> re.Pattern[str]:
    """Java's glob syntax: ``**`` crosses directories, ``*`` and ``?`` do not, ``{a,b}``."""
    out, i, depth = [], 0, 0
    while i < len(pattern):
        char = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
            continue
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "{":
            out.append("(?:")
            depth += 1
        elif char == "}" and depth:
            out.append(")")
            depth -= 1
        elif char == "," and depth:
            out.append("|")
        elif char == "[":
            end = pattern.find("]", i + 1)
            if end > i:
                out.append("[" + pattern[i + 1 : end].replace("!", "^", 1) + "]")
                i = end + 1
                continue
            out.append(re.escape(char))
        else:
            out.append(re.escape(char))
        i += 1
    return re.compile("".join(out) + r"\Z")


def glob_match(pattern: str, path: str) -> bool:
    """Whether the relative, '/'-separated ``path`` matches the glob ``pattern``."""
    return _glob_regex(pattern.lstrip("/")).match(path.lstrip("/")) is not None
