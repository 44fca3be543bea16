"""Pebble and Kestra filters on text: case, trimming, splitting, encoding, hashing."""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
import unicodedata
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any
from urllib.parse import quote_plus, unquote_plus

from controlplane.expr.errors import ExpressionError
from controlplane.expr.values import to_text


@lru_cache(maxsize=256)
def _regex(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise ExpressionError(f"invalid regular expression '{pattern}': {exc}") from exc


def java_split(text: str, pattern: str, limit: int = 0) -> list[str]:
    """Java's ``String.split(regex, limit)``: a positive limit caps the parts, zero drops the
    trailing empty strings, a negative limit keeps them; no leading empty part for a
    zero-width match at the start."""
    parts: list[str] = []
    last = 0
    for match in _regex(pattern).finditer(text):
        if limit > 0 and len(parts) == limit - 1:
            break
        if match.end() == 0:
            continue
        parts.append(text[last : match.start()])
        last = match.end()
    if not parts:
        return [text]
    parts.append(text[last:])
    if limit == 0:
        while parts and parts[-1] == "":
            parts.pop()
    return parts


def split(value: Any, delimiter: str, limit: int | None = None) -> list[str]:
    return java_split(to_text(value), delimiter, 0 if limit is None else limit)


def replace(value: Any, replace_pairs: Any, replacement: Any = None, regexp: bool = False) -> str:
    """Pebble's ``replace({'a': 'b'})`` (and Kestra's ``regexp=true``); also ``replace(a, b)``."""
    text = to_text(value)
    if isinstance(replace_pairs, Mapping):
        pairs = [(str(k), to_text(v)) for k, v in replace_pairs.items()]
    elif replacement is not None:
        pairs = [(to_text(replace_pairs), to_text(replacement))]
    else:
        raise ExpressionError("replace needs a map of replacements, e.g. replace({'a': 'b'})")
    for search, substitute in pairs:
        if regexp:
            java_replacement = re.sub(r"\$(\d+)", r"\\\1", substitute)
            text = _regex(search).sub(java_replacement, text)
        else:
            text = text.replace(search, substitute)
    return text


def title(value: Any) -> str:
    """Capitalises the first letter of every word, leaving the other letters as they are."""
    return re.sub(r"(^|\s)(\S)", lambda m: m.group(1) + m.group(2).upper(), to_text(value))


def capitalize(value: Any) -> str:
    text = to_text(value)
    return text[:1].upper() + text[1:]


def abbreviate(value: Any, length: int) -> str:
    text = to_text(value)
    if length < 4:
        raise ExpressionError("abbreviate needs a length of at least 4")
    return text if len(text) <= length else text[: length - 3] + "..."


def java_url_encode(value: Any) -> str:
    """``URLEncoder.encode(s, UTF-8)``: spaces become ``+``, only ``*-._`` stay unescaped."""
    return quote_plus(to_text(value), safe="*").replace("~", "%7E")


def slugify(value: Any) -> str:
    ascii_text = unicodedata.normalize("NFKD", to_text(value)).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def escape(value: Any, strategy: str = "html") -> str:
    text = to_text(value)
    if strategy == "html":
        return html.escape(text, quote=True)
    if strategy == "url_param":
        return java_url_encode(text)
    if strategy == "json":
        return json.dumps(text, ensure_ascii=False)[1:-1]
    raise ExpressionError(f"unknown escaping strategy '{strategy}' (use html, url_param, json)")


def escape_char(value: Any, type: str) -> str:
    text = to_text(value)
    if type == "single":
        return text.replace("'", "\\'")
    if type == "double":
        return text.replace('"', '\\"')
    if type == "shell":
        return text.replace("'", "'\\''")
    raise ExpressionError(f"escapeChar type must be single, double or shell, not '{type}'")


def _substring_before(value: Any, separator: str) -> str:
    text = to_text(value)
    index = text.find(separator)
    return text if index < 0 else text[:index]


def _substring_before_last(value: Any, separator: str) -> str:
    text = to_text(value)
    index = text.rfind(separator)
    return text if index < 0 or not separator else text[:index]


def _substring_after(value: Any, separator: str) -> str:
    text = to_text(value)
    index = text.find(separator)
    return "" if index < 0 else text[index + len(separator) :]


def _substring_after_last(value: Any, separator: str) -> str:
    text = to_text(value)
    index = text.rfind(separator)
    return "" if index < 0 or not separator else text[index + len(separator) :]


def _indent(value: Any, amount: int, prefix: str = " ") -> str:
    return to_text(value).replace("\n", "\n" + prefix * amount)


def _nindent(value: Any, amount: int, prefix: str = " ") -> str:
    return "\n" + prefix * amount + _indent(value, amount, prefix)


def _digest(algorithm: str) -> Callable[[Any], str]:
    def digest(value: Any) -> str:
        return hashlib.new(algorithm, to_text(value).encode()).hexdigest()

    return digest


def _base64decode(value: Any) -> str:
    return base64.b64decode(to_text(value), validate=False).decode()


TEXT_FILTERS: dict[str, Callable[..., Any]] = {
    "abbreviate": abbreviate,
    "base64encode": lambda value: base64.b64encode(to_text(value).encode()).decode(),
    "base64decode": _base64decode,
    "capitalize": capitalize,
    "endsWith": lambda value, suffix: to_text(value).endswith(to_text(suffix)),
    "escape": escape,
    "escapeChar": escape_char,
    "indent": _indent,
    "lower": lambda value: to_text(value).lower(),
    "md5": _digest("md5"),
    "nindent": _nindent,
    "raw": lambda value: value,  # autoescaping is off, so raw has nothing to undo
    "replace": replace,
    "sha1": _digest("sha1"),
    "sha256": _digest("sha256"),
    "sha512": _digest("sha512"),
    "slugify": slugify,
    "split": split,
    "startsWith": lambda value, prefix: to_text(value).startswith(to_text(prefix)),
    "string": to_text,
    "substringAfter": _substring_after,
    "substringAfterLast": _substring_after_last,
    "substringBefore": _substring_before,
    "substringBeforeLast": _substring_before_last,
    "title": title,
    "trim": lambda value: to_text(value).strip(),
    "upper": lambda value: to_text(value).upper(),
    "urldecode": lambda value: unquote_plus(to_text(value)),
    "urlencode": java_url_encode,
}
