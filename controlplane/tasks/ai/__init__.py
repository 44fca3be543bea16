"""Kestra's AI tasks (``io.kestra.plugin.ai.*``): the model providers over their HTTP APIs, the
agent loop with its tools, retrievers and memory, and ingestion into the KV embedding store;
importing this package registers their implementations."""

from controlplane.tasks.ai import agent as agent
from controlplane.tasks.ai import rag as rag
