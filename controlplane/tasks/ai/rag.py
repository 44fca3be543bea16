"""Documents into an embedding store (``rag.IngestDocument``), and searches of it.

The KV embedding store keeps every segment with its vector as one KV pair of the flow's
namespace, a JSON document ``{"entries": [{id, embedding: {vector}, embedded: {text,
metadata}}]}`` as the in-memory store of Kestra's plugin writes it; a search reads it whole and
ranks the segments by cosine similarity, scored from 0 to 1 as Kestra does (``(1 + cos) / 2``).

Splitting follows Kestra's splitters: text is cut at paragraph breaks (PARAGRAPH), lines
(LINE), sentence ends (SENTENCE) or spaces (WORD), and pieces are packed into segments of at
most ``maxSegmentSizeInChars``; RECURSIVE cuts a piece that is still too long at the next finer
boundary, down to characters. A new segment starts with the last whole sentences of the one
before, up to ``maxOverlapSizeInChars``.
"""

from __future__ import annotations

import json
import math
import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from controlplane.engine.runnable import RunContext, TaskFailed, runs
from controlplane.spec.plugins.ai import EmbeddingStoreRetriever, KestraKVEmbeddings
from controlplane.spec.plugins.ai_tasks import DocumentSplitter, IngestDocument
from controlplane.tasks import props
from controlplane.tasks.ai.chat import Usage
from controlplane.tasks.ai.providers import Model
from controlplane.tasks.ai.tools import Found

_BOUNDARIES = {
    "PARAGRAPH": (r"\s*\n\s*\n\s*", "\n\n"),
    "LINE": (r"\s*\n\s*", "\n"),
    "SENTENCE": (r"(?<=[.!?])\s+", " "),
    "WORD": (r"\s+", " "),
}
_ORDER = ["PARAGRAPH", "LINE", "SENTENCE", "WORD"]


@dataclass(frozen=True)
class Document:
    text: str
    metadata: dict[str, Any]


# -- splitting ------------------------------------------------------------------------------------


def split(text: str, splitter: DocumentSplitter) -> list[str]:
    size, overlap = splitter.maxSegmentSizeInChars, splitter.maxOverlapSizeInChars
    if splitter.splitter == "RECURSIVE":
        levels = _ORDER
    else:
        start = _ORDER.index(splitter.splitter)
        levels = _ORDER[start : start + 1] + ["SENTENCE", "WORD"][max(0, start - 1) :]
    return _pack(text.strip(), levels, size, overlap)


def _pieces(text: str, levels: list[str], size: int) -> list[tuple[str, str]]:
    """The text cut at the first level's boundaries; a piece still too long is cut at the next
    ones (down to characters). Each piece comes with the joint that goes before it."""
    if len(text) <= size or not levels:
        if len(text) <= size:
            return [(text, "")]
        return [(text[i : i + size], "") for i in range(0, len(text), size)]
    pattern, joint = _BOUNDARIES[levels[0]]
    pieces: list[tuple[str, str]] = []
    for part in (p for p in re.split(pattern, text) if p.strip()):
        inner = _pieces(part.strip(), levels[1:], size)
        pieces.append((inner[0][0], joint))
        pieces.extend(inner[1:])
    return pieces


def _pack(text: str, levels: list[str], size: int, overlap: int) -> list[str]:
    segments: list[str] = []
    current = ""
    for piece, joint in _pieces(text, levels, size):
        candidate = f"{current}{joint}{piece}" if current else piece
        if len(candidate) <= size:
            current = candidate
            continue
        segments.append(current)
        carried = _tail(current, overlap)
        current = (
            f"{carried} {piece}" if carried and len(carried) + 1 + len(piece) <= size else piece
        )
    if current:
        segments.append(current)
    return segments


def _tail(segment: str, overlap: int) -> str:
    """The last whole sentences of a segment that fit in ``overlap`` characters."""
    if overlap <= 0:
        return ""
    kept: list[str] = []
    for sentence in reversed(re.split(_BOUNDARIES["SENTENCE"][0], segment)):
        if len(" ".join([sentence, *kept])) > overlap:
            break
        kept.insert(0, sentence)
    return " ".join(kept)


# -- the KV store ---------------------------------------------------------------------------------


class KvStore:
    """The entries of a KV embedding store, read at creation and written by ``save``."""

    def __init__(self, ctx: RunContext, spec: KestraKVEmbeddings, drop: bool) -> None:
        self.ctx = ctx
        self.key = props.text(ctx, spec.kvName)
        self.entries: list[dict[str, Any]] = []
        found = None if drop else ctx.kv_get(ctx.namespace, self.key)
        if found is not None:
            value = json.loads(found.value) if isinstance(found.value, str) else found.value
            self.entries = list((value or {}).get("entries") or [])

    def add(
        self, texts: list[str], metadata: list[dict[str, Any]], vectors: list[list[float]]
    ) -> None:
        for text, meta, vector in zip(texts, metadata, vectors, strict=True):
            self.entries.append(
                {
                    "id": str(uuid.uuid4()),
                    "embedding": {"vector": vector},
                    "embedded": {"text": text, "metadata": {"metadata": meta}},
                }
            )

    def save(self) -> None:
        document = json.dumps({"entries": self.entries})
        self.ctx.kv_set(self.ctx.namespace, self.key, document, "STRING", None)

    def search(self, vector: list[float], max_results: int, min_score: float) -> list[Found]:
        scored = []
        for entry in self.entries:
            score = _score(vector, entry["embedding"]["vector"])
            if score >= min_score:
                embedded = entry.get("embedded") or {}
                meta = dict((embedded.get("metadata") or {}).get("metadata") or {})
                scored.append((score, Found(str(embedded.get("text", "")), meta)))
        scored.sort(key=lambda pair: pair[0], reverse=True)
        return [found for _, found in scored[:max_results]]


def _score(a: list[float], b: list[float]) -> float:
    if len(a) != len(b):
        raise TaskFailed(
            f"the embedding store holds vectors of {len(b)} dimensions and the "
            f"query's has {len(a)}: ingest with the same embedding model"
        )
    norms = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    cosine = sum(x * y for x, y in zip(a, b, strict=True)) / norms if norms else 0.0
    return (1 + cosine) / 2


def store_of(ctx: RunContext, spec: KestraKVEmbeddings, drop: bool = False) -> KvStore:
    ctx.metric("ai.embedding.store.calls", 1, store="io.kestra.plugin.ai.embeddings.KestraKVStore")
    return KvStore(ctx, spec, drop)


def retrieve(ctx: RunContext, retriever: EmbeddingStoreRetriever, query: str) -> list[Found]:
    model = Model(retriever.embeddingProvider, ctx)
    store = store_of(ctx, retriever.embeddings)
    (vector,) = model.embed([query]).vectors
    return store.search(
        vector,
        props.integer(ctx, retriever.maxResults, "maxResults"),
        float(props.text(ctx, retriever.minScore)),
    )


# -- ingestion ------------------------------------------------------------------------------------


def _documents(task: IngestDocument, ctx: RunContext) -> list[Document]:
    documents: list[Document] = []
    path = props.optional_text(ctx, task.fromPath)
    if path:
        root = (ctx.working_dir / path).resolve()
        if not root.is_relative_to(ctx.working_dir.resolve()):
            raise TaskFailed(f"'fromPath' {path} is outside the task's working directory")
        files = sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else [root]
        for file in files:
            meta = {"file_name": file.name, "absolute_directory_path": str(file.parent)}
            documents.append(Document(_text(file.read_bytes(), file.name), meta))
    for inline in task.fromDocuments or []:
        meta = props.mapping(ctx, inline.metadata, "metadata") if inline.metadata else {}
        documents.append(Document(props.text(ctx, inline.content), meta))
    for uri in props.string_list(ctx, task.fromInternalURIs, "fromInternalURIs"):
        with ctx.open_file(uri) as stream:
            name = Path(uri).name
            documents.append(Document(_text(stream.read(), name), {"file_name": name}))
    for url in props.string_list(ctx, task.fromExternalURLs, "fromExternalURLs"):
        documents.append(Document(_fetch(url), {"url": url}))
    return documents


def _text(data: bytes, name: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise TaskFailed(
            f"document {name} is not text (UTF-8); Weir ingests text documents"
        ) from None


def _fetch(url: str) -> str:
    try:
        response = requests.get(url, timeout=(30, 300))
    except requests.RequestException as exc:
        raise TaskFailed(f"document {url} could not be read: {type(exc).__name__}") from None
    if response.status_code >= 400:
        raise TaskFailed(f"document {url} could not be read: HTTP {response.status_code}")
    return _text(response.content, url)


@runs(IngestDocument)
def run_ingest_document(task: IngestDocument, ctx: RunContext) -> dict[str, Any]:
    model = Model(task.provider, ctx)
    ctx.metric("ai.provider.calls", 1, provider=task.provider.type)
    store = store_of(ctx, task.embeddings, props.boolean(ctx, task.drop))
    bulk = max(1, props.integer(ctx, task.bulkSize, "bulkSize"))
    documents = _documents(task, ctx)
    texts: list[str] = []
    metadata: list[dict[str, Any]] = []
    for document in documents:
        segments = (
            split(document.text, task.documentSplitter)
            if task.documentSplitter
            else [document.text]
        )
        for index, segment in enumerate(s for s in segments if s.strip()):
            texts.append(segment)
            metadata.append({**document.metadata, "index": str(index)})
    usage = Usage()
    for start in range(0, len(texts), bulk):
        embedded = model.embed(texts[start : start + bulk])
        store.add(texts[start : start + bulk], metadata[start : start + bulk], embedded.vectors)
        usage = usage + embedded.usage
    store.save()
    ctx.metric("indexed.documents", len(documents))
    for name, count in (("input", usage.input), ("output", usage.output), ("total", usage.total)):
        if count:
            ctx.metric(f"{name}.token.count", count)
    ctx.info(f"{len(documents)} documents in {len(texts)} segments added to KV pair {store.key}")
    return {
        "ingestedDocuments": len(documents),
        "inputTokenCount": usage.input or None,
        "outputTokenCount": usage.output or None,
        "totalTokenCount": usage.total or None,
        "embeddingStoreOutputs": {"kvName": store.key},
    }
