"""The tools a model may call, and the web search shared with the content retriever.

- ``tool.KestraFlow`` starts a flow through Weir's API (``POST /api/v1/executions/{namespace}/
  {flowId}``) and gives the model the execution as the API answers it, with ``tenantId``
  ``main`` (Weir has the one tenant Kestra's open-source edition names so).
- ``tool.KestraTask`` runs a runnable task of the flow in the agent's own attempt, with the
  arguments the model gives for the properties written ``...``.
- ``tool.TavilyWebSearch`` searches the web with Tavily's API (``POST /search``).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests
from pydantic import BaseModel, PydanticUserError, ValidationError

from controlplane.engine.runnable import RunContext, TaskFailed, runner_for
from controlplane.spec.plugins.ai import KestraFlowTool, KestraTaskTool, TavilyTool
from controlplane.tasks import props
from controlplane.tasks.ai.chat import ToolSpec
from controlplane.tasks.llm import post_json

TAVILY_URL = "https://api.tavily.com"
PLACEHOLDER = "..."
Executor = Callable[[dict[str, Any]], str]


@dataclass(frozen=True)
class Found:
    """One finding of a search: its text and where it comes from."""

    text: str
    metadata: dict[str, Any]


def tavily_search(ctx: RunContext, api_key: str, query: str, max_results: int) -> list[Found]:
    base = os.environ.get("TAVILY_BASE_URL", TAVILY_URL).rstrip("/")
    body = {"query": query, "max_results": max_results, "search_depth": "basic"}
    headers = {"Authorization": f"Bearer {api_key}"}
    answer = post_json("Tavily", f"{base}/search", body, headers)
    results = answer.get("results") if isinstance(answer, dict) else None
    found = []
    for item in results or []:
        text = "\n".join(str(item.get(k)) for k in ("title", "content") if item.get(k))
        found.append(Found(text, {"url": item.get("url"), "title": item.get("title")}))
    ctx.debug(f"Tavily found {len(found)} results for the query")
    return found


def tools_of(ctx: RunContext, given: list[Any] | None) -> dict[str, tuple[ToolSpec, Executor]]:
    """The tools of a task by the name the model calls them."""
    tools: dict[str, tuple[ToolSpec, Executor]] = {}
    for tool in given or []:
        if isinstance(tool, TavilyTool):
            made = [_tavily_tool(ctx, tool)]
        elif isinstance(tool, KestraFlowTool):
            made = [_flow_tool(ctx, tool)]
        elif isinstance(tool, KestraTaskTool):
            made = [_task_tool(ctx, task) for task in tool.tasks]
        else:
            raise TaskFailed(f"tool type {tool.type} cannot run on Weir")
        for spec, executor in made:
            tools[spec.name] = (spec, executor)
    return tools


# -- Tavily ---------------------------------------------------------------------------------------


def _tavily_tool(ctx: RunContext, tool: TavilyTool) -> tuple[ToolSpec, Executor]:
    key = props.text(ctx, tool.apiKey)
    spec = ToolSpec(
        "searchWeb",
        "This tool can be used to perform web searches",
        {
            "type": "object",
            "properties": {"query": {"type": "string", "description": "Web search query"}},
            "required": ["query"],
        },
    )

    def search(arguments: dict[str, Any]) -> str:
        query = str(arguments.get("query") or arguments.get("arg0") or "")
        found = tavily_search(ctx, key, query, 5)
        return "\n\n".join(f"{f.text}\nSource: {f.metadata.get('url')}" for f in found)

    return spec, search


# -- Kestra flows ---------------------------------------------------------------------------------

_GENERIC = (
    "This tool executes a Kestra workflow, also called a flow. This tool will respond with the "
    "flow execution information.\nThe namespace and the ID of the flow must be passed as tool "
    "parameters."
)
_PAIRS = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {"id": {"type": "string"}, "value": {"type": "string"}},
    },
}


class _Api:
    def __init__(self, ctx: RunContext, tool: KestraFlowTool) -> None:
        url = props.optional_text(ctx, tool.kestraUrl) or os.environ.get("WEIR_URL")
        self.url = (url or "http://127.0.0.1:8080").strip().rstrip("/")
        self.headers: dict[str, str] = {}
        self.auth: tuple[str, str] | None = None
        auth = tool.auth
        token = props.optional_text(ctx, auth.apiToken) if auth else None
        if auth is not None and auth.username is not None and auth.password is not None:
            self.auth = (props.text(ctx, auth.username), props.text(ctx, auth.password))
        elif not token and (auth is None or props.boolean(ctx, auth.auto)):
            token = os.environ.get("WEIR_TOKEN")
        if token:
            self.headers["Authorization"] = f"Bearer {token}"

    def call(self, method: str, path: str, body: Any = None) -> Any:
        try:
            response = requests.request(
                method,
                f"{self.url}/api/v1{path}",
                json=body,
                headers=self.headers,
                auth=self.auth,
                timeout=(10, 60),
            )
        except requests.RequestException as exc:
            raise TaskFailed(
                f"the API at {self.url} could not be reached: {type(exc).__name__}"
            ) from None
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if response.status_code >= 400:
            message = answer.get("message") if isinstance(answer, dict) else response.reason
            raise TaskFailed(
                f"the API answered {response.status_code} to {method} {path}: {message}"
            )
        return answer


def _flow_tool(ctx: RunContext, tool: KestraFlowTool) -> tuple[ToolSpec, Executor]:
    if (tool.namespace is None) != (tool.flowId is None):
        raise TaskFailed("a KestraFlow tool names both 'namespace' and 'flowId', or neither")
    api = _Api(ctx, tool)
    fixed_inputs = ctx.render(tool.inputs or {})
    fixed_labels = _labels(ctx.render(tool.labels or {}))
    if props.boolean(ctx, tool.inheritLabels):
        execution = ctx.read_execution()
        own = dict(execution.labels) if execution is not None else {}
        fixed_labels = {**own, **fixed_labels}
    parameters: dict[str, Any] = {
        "type": "object",
        "properties": {
            "inputs": {**_PAIRS, "description": "The list of inputs."},
            "labels": {
                "type": "array",
                "description": "The list of labels.",
                "items": {
                    "type": "object",
                    "properties": {"key": {"type": "string"}, "value": {"type": "string"}},
                },
            },
        },
    }
    if tool.namespace is not None and tool.flowId is not None:
        namespace = props.text(ctx, tool.namespace)
        flow_id = props.text(ctx, tool.flowId)
        ctx.control.check_reach(namespace, "the flows")
        description = props.optional_text(ctx, tool.description)
        if not description:
            flow = api.call("GET", f"/flows/{namespace}/{flow_id}")
            description = flow.get("description") if isinstance(flow, dict) else None
        if not description:
            raise TaskFailed(
                f"flow {namespace}.{flow_id} has no description: give the tool "
                "a 'description' so that the model knows when to call it"
            )
        name = re.sub(r"[^a-zA-Z0-9_-]", "_", f"kestra_flow_{namespace}_{flow_id}")[:64]
        spec = ToolSpec(name, description, parameters)
    else:
        namespace = flow_id = ""
        parameters["properties"].update(
            {
                "namespace": {"type": "string"},
                "flowId": {"type": "string"},
                "revision": {"type": "number"},
            }
        )
        parameters["required"] = ["namespace", "flowId"]
        spec = ToolSpec("kestra_flow", _GENERIC, parameters)

    def start(arguments: dict[str, Any]) -> str:
        target_ns = namespace or str(arguments.get("namespace") or "")
        target_id = flow_id or str(arguments.get("flowId") or "")
        if not target_ns or not target_id:
            raise TaskFailed("the model called kestra_flow without a namespace and a flowId")
        # The server's own token may serve the call: only where the flow's namespace reaches.
        ctx.control.check_reach(target_ns, "the flows")
        inputs = {**fixed_inputs, **_pairs(arguments.get("inputs"), "id")}
        labels = {**fixed_labels, **_pairs(arguments.get("labels"), "key")}
        body = {"inputs": inputs, "labels": {k: str(v) for k, v in labels.items()}}
        started = api.call("POST", f"/executions/{target_ns}/{target_id}", body)
        ctx.info(f"the model started flow {target_ns}.{target_id}: execution {started.get('id')}")
        return json.dumps({"tenantId": "main", **started}, default=str)

    return spec, start


def _pairs(value: Any, key: str) -> dict[str, Any]:
    if isinstance(value, dict):
        return dict(value)
    if not isinstance(value, list):
        return {}
    return {str(p[key]): p.get("value") for p in value if isinstance(p, dict) and key in p}


def _labels(value: Any) -> dict[str, Any]:
    return _pairs(value, "key") if isinstance(value, list) else dict(value or {})


# -- Kestra tasks ---------------------------------------------------------------------------------


def _task_tool(ctx: RunContext, task: BaseModel) -> tuple[ToolSpec, Executor]:
    model = type(task)
    runner = runner_for(model)
    task_id = getattr(task, "id", "task")
    if runner is None:
        raise TaskFailed(f"task {task_id} cannot be a tool: its type runs no work of its own")
    given = task.model_dump(exclude_unset=True, by_alias=True)
    wanted = [name for name, value in given.items() if value == PLACEHOLDER]
    schema = _schema(model)
    properties = {name: schema.get(name, {"type": "string"}) for name in wanted}
    spec = ToolSpec(
        f"kestra_task_{task_id}",
        "This tool allows you to call a Kestra task. A Kestra task will respond with its "
        "output, which is a map of key/value pairs.",
        {"type": "object", "properties": properties, "required": wanted},
    )

    def run(arguments: dict[str, Any]) -> str:
        values = {**given, **{k: v for k, v in arguments.items() if k in properties}}
        try:
            filled = model.model_validate(values)
        except ValidationError as exc:
            wrong = ", ".join(".".join(map(str, e["loc"])) for e in exc.errors())
            raise TaskFailed(
                f"the model called tool {spec.name} with arguments that are not "
                f"valid for task {task_id}: {wrong}"
            ) from None
        outputs = runner(filled, ctx) or {}
        return json.dumps(dict(outputs), default=str) if outputs else "Success"

    return spec, run


def _schema(model: type[BaseModel]) -> dict[str, Any]:
    try:
        found = model.model_json_schema().get("properties")
    except (PydanticUserError, TypeError, ValueError, KeyError):
        return {}  # a hint to the model only: the properties are then asked for as text
    return found if isinstance(found, dict) else {}
