"""Kestra's AI tasks (``io.kestra.plugin.ai.*``): the model providers over their HTTP APIs, the
agent loop with its tools, retrievers and memory, ingestion into the KV embedding store, and
Gemini's own tasks (``io.kestra.plugin.gemini.*``); importing this package registers their
implementations."""

from controlplane.tasks.ai import agent as agent
from controlplane.tasks.ai import gemini as gemini
from controlplane.tasks.ai import rag as rag
