"""Paths given on the command line, made absolute as they are read.

A relative path is read against the directory the command was started in, whatever a later step
(a task's working directory, a status record read from elsewhere) takes as its current one.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

# git's scp-like form: user@host:path
_SCP_LIKE = re.compile(r"^[\w.-]+@[\w.-]+:")


def absolute_path(text: str) -> Path:
    """``text`` as an absolute path, ``~`` expanded and ``..`` folded."""
    return Path(os.path.abspath(os.path.expanduser(text)))


def local_or_url(text: str) -> str:
    """A local path made absolute; a URL or git's ``user@host:path`` form left as given."""
    if "://" in text or _SCP_LIKE.match(text):
        return text
    return str(absolute_path(text))
