"""The gRPC service Terraform calls: decodes each request, hands it to the provider's resource or
data source, and encodes the answer with its diagnostics.

Every call goes through :func:`_answer`, which turns what a resource raises into diagnostics: a
:class:`ProviderError` as is, an API error with its message, anything else as an error that
names the operation, the resource type and the exception (the traceback goes to the log).
"""

from __future__ import annotations

import logging
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from typing import Any

from controlplane.errors import WeirError
from controlplane.provider.gen import tfplugin6_pb2 as pb
from controlplane.provider.runtime.diagnostics import (
    Diagnostic,
    Diagnostics,
    ProviderError,
    Severity,
    attribute_path,
)
from controlplane.provider.runtime.resource import (
    Change,
    Current,
    DataSource,
    Plan,
    Resource,
    plan_change,
)
from controlplane.provider.runtime.schema import Schema, conform
from controlplane.provider.runtime.values import decode, encode

log = logging.getLogger("weir.provider")


class Provider(ABC):
    """A provider: its configuration schema, and its resource and data source types."""

    schema: Schema
    resource_types: tuple[type[Resource[Any]], ...]
    data_source_types: tuple[type[DataSource[Any]], ...]

    @abstractmethod
    def configure(self, config: dict[str, Any], diagnostics: Diagnostics) -> None:
        """Take the provider block's configuration (every value known)."""

    def validate(self, config: dict[str, Any], diagnostics: Diagnostics) -> None:  # noqa: B027
        """Check the provider block, whose values may be UNKNOWN."""

    def stop(self) -> None:  # noqa: B027
        """Terraform asks the running operations to stop (Ctrl-C)."""

    def close(self) -> None:  # noqa: B027
        """The process is ending: Terraform has shut the provider down."""


class ProviderService:
    def __init__(self, provider: Provider) -> None:
        self._provider = provider
        self._resources = {t.type_name: t(provider) for t in provider.resource_types}
        self._data_sources = {t.type_name: t(provider) for t in provider.data_source_types}
        self._schema: pb.GetProviderSchema.Response | None = None
        self._schema_lock = threading.Lock()

    # -- schema and configuration ---------------------------------------------------------

    def GetMetadata(self, request: Any, context: Any) -> pb.GetMetadata.Response:
        return pb.GetMetadata.Response(
            server_capabilities=_CAPABILITIES,
            resources=[pb.GetMetadata.ResourceMetadata(type_name=n) for n in self._resources],
            data_sources=[
                pb.GetMetadata.DataSourceMetadata(type_name=n) for n in self._data_sources
            ],
        )

    def GetProviderSchema(self, request: Any, context: Any) -> pb.GetProviderSchema.Response:
        with self._schema_lock:
            if self._schema is None:
                self._schema = pb.GetProviderSchema.Response(
                    provider=self._provider.schema.to_proto(),
                    resource_schemas={n: r.schema.to_proto() for n, r in self._resources.items()},
                    data_source_schemas={
                        n: d.schema.to_proto() for n, d in self._data_sources.items()
                    },
                    server_capabilities=_CAPABILITIES,
                )
            return self._schema

    def ValidateProviderConfig(
        self, request: pb.ValidateProviderConfig.Request, context: Any
    ) -> pb.ValidateProviderConfig.Response:
        diagnostics = Diagnostics()
        _answer(
            diagnostics,
            "validating",
            "the provider configuration",
            lambda: self._provider.validate(decode(request.config) or {}, diagnostics),
        )
        return pb.ValidateProviderConfig.Response(diagnostics=diagnostics.to_proto())

    def ConfigureProvider(
        self, request: pb.ConfigureProvider.Request, context: Any
    ) -> pb.ConfigureProvider.Response:
        diagnostics = Diagnostics()
        _answer(
            diagnostics,
            "configuring",
            "the provider",
            lambda: self._provider.configure(decode(request.config) or {}, diagnostics),
        )
        return pb.ConfigureProvider.Response(diagnostics=diagnostics.to_proto())

    def StopProvider(self, request: Any, context: Any) -> pb.StopProvider.Response:
        self._provider.stop()
        return pb.StopProvider.Response()

    # -- validation and state upgrade -----------------------------------------------------

    def ValidateResourceConfig(
        self, request: pb.ValidateResourceConfig.Request, context: Any
    ) -> pb.ValidateResourceConfig.Response:
        diagnostics = Diagnostics()
        resource = self._resource(request.type_name, diagnostics)
        if resource is not None:
            _answer(
                diagnostics,
                "validating",
                request.type_name,
                lambda: resource.validate(decode(request.config) or {}, diagnostics),
            )
        return pb.ValidateResourceConfig.Response(diagnostics=diagnostics.to_proto())

    def ValidateDataResourceConfig(
        self, request: pb.ValidateDataResourceConfig.Request, context: Any
    ) -> pb.ValidateDataResourceConfig.Response:
        diagnostics = Diagnostics()
        source = self._data_source(request.type_name, diagnostics)
        if source is not None:
            _answer(
                diagnostics,
                "validating",
                f"data source {request.type_name}",
                lambda: source.validate(decode(request.config) or {}, diagnostics),
            )
        return pb.ValidateDataResourceConfig.Response(diagnostics=diagnostics.to_proto())

    def UpgradeResourceState(
        self, request: pb.UpgradeResourceState.Request, context: Any
    ) -> pb.UpgradeResourceState.Response:
        diagnostics = Diagnostics()
        resource = self._resource(request.type_name, diagnostics)
        response = pb.UpgradeResourceState.Response()
        if resource is None:
            return _with(response, diagnostics)
        if not request.raw_state.json:
            diagnostics.error(
                f"cannot upgrade {request.type_name} state",
                "The state is in the flatmap format of Terraform 0.11, which this provider "
                "never wrote.",
            )
            return _with(response, diagnostics)

        def upgrade() -> None:
            raw = decode(pb.DynamicValue(json=request.raw_state.json))
            state = resource.upgrade(request.version, raw)
            response.upgraded_state.CopyFrom(self._state(resource, state))

        _answer(diagnostics, "upgrading the state of", request.type_name, upgrade)
        return _with(response, diagnostics)

    # -- managed resources ----------------------------------------------------------------

    def ReadResource(
        self, request: pb.ReadResource.Request, context: Any
    ) -> pb.ReadResource.Response:
        diagnostics = Diagnostics()
        response = pb.ReadResource.Response(
            new_state=request.current_state, private=request.private
        )
        resource = self._resource(request.type_name, diagnostics)
        if resource is None:
            return _with(response, diagnostics)

        def read() -> None:
            current = Current(decode(request.current_state), request.private, diagnostics)
            found = resource.read(current)
            response.new_state.CopyFrom(self._state(resource, found))
            response.private = current.private

        _answer(diagnostics, "reading", request.type_name, read)
        return _with(response, diagnostics)

    def PlanResourceChange(
        self, request: pb.PlanResourceChange.Request, context: Any
    ) -> pb.PlanResourceChange.Response:
        diagnostics = Diagnostics()
        response = pb.PlanResourceChange.Response(
            planned_state=request.proposed_new_state, planned_private=request.prior_private
        )
        resource = self._resource(request.type_name, diagnostics)
        if resource is None:
            return _with(response, diagnostics)
        proposed = decode(request.proposed_new_state)
        if proposed is None:
            return _with(response, diagnostics)  # a destroy: nothing to plan

        def plan() -> None:
            change = Plan(
                prior=decode(request.prior_state),
                planned=proposed,
                config=decode(request.config) or {},
                private=request.prior_private,
                diagnostics=diagnostics,
            )
            plan_change(resource, change)
            response.planned_state.CopyFrom(self._state(resource, change.planned))
            response.planned_private = change.private
            response.requires_replace.extend(attribute_path([n]) for n in change.replace)

        _answer(diagnostics, "planning", request.type_name, plan)
        return _with(response, diagnostics)

    def ApplyResourceChange(
        self, request: pb.ApplyResourceChange.Request, context: Any
    ) -> pb.ApplyResourceChange.Response:
        diagnostics = Diagnostics()
        prior = decode(request.prior_state)
        response = pb.ApplyResourceChange.Response(
            new_state=request.prior_state, private=request.planned_private
        )
        resource = self._resource(request.type_name, diagnostics)
        if resource is None:
            return _with(response, diagnostics)
        planned = decode(request.planned_state)

        def apply() -> None:
            if planned is None:
                resource.delete(Current(prior, request.planned_private, diagnostics))
                response.new_state.CopyFrom(encode(None))
                return
            change = Change(
                prior=prior,
                planned=planned,
                config=decode(request.config) or {},
                private=request.planned_private,
                diagnostics=diagnostics,
            )
            new = resource.create(change) if prior is None else resource.update(change)
            response.new_state.CopyFrom(self._state(resource, new))
            response.private = change.private

        verb = "deleting" if planned is None else "creating" if prior is None else "updating"
        _answer(diagnostics, verb, request.type_name, apply)
        return _with(response, diagnostics)

    def ImportResourceState(
        self, request: pb.ImportResourceState.Request, context: Any
    ) -> pb.ImportResourceState.Response:
        diagnostics = Diagnostics()
        response = pb.ImportResourceState.Response()
        resource = self._resource(request.type_name, diagnostics)
        if resource is None:
            return _with(response, diagnostics)

        def import_state() -> None:
            found = resource.import_state(request.id)
            response.imported_resources.add(
                type_name=request.type_name,
                state=self._state(resource, found.state),
                private=found.private,
            )
            diagnostics.items.extend(found.diagnostics.items)

        _answer(diagnostics, f"importing {request.id!r} as", request.type_name, import_state)
        return _with(response, diagnostics)

    # -- data sources ---------------------------------------------------------------------

    def ReadDataSource(
        self, request: pb.ReadDataSource.Request, context: Any
    ) -> pb.ReadDataSource.Response:
        diagnostics = Diagnostics()
        response = pb.ReadDataSource.Response(state=request.config)
        source = self._data_source(request.type_name, diagnostics)
        if source is None:
            return _with(response, diagnostics)

        def read() -> None:
            found = source.read(decode(request.config) or {}, diagnostics)
            response.state.CopyFrom(encode(conform(source.schema.attributes, found)))

        _answer(diagnostics, "reading data source", request.type_name, read)
        return _with(response, diagnostics)

    # -- helpers --------------------------------------------------------------------------

    def _resource(self, type_name: str, diagnostics: Diagnostics) -> Resource[Any] | None:
        found = self._resources.get(type_name)
        if found is None:
            diagnostics.error(f"unknown resource type {type_name}", _known(self._resources))
        return found

    def _data_source(self, type_name: str, diagnostics: Diagnostics) -> DataSource[Any] | None:
        found = self._data_sources.get(type_name)
        if found is None:
            diagnostics.error(f"unknown data source {type_name}", _known(self._data_sources))
        return found

    @staticmethod
    def _state(resource: Resource[Any], state: dict[str, Any] | None) -> pb.DynamicValue:
        if state is None:
            return encode(None)
        shaped = conform(resource.schema.attributes, state)
        for attribute in resource.schema.attributes:
            if attribute.write_only:
                shaped[attribute.name] = None
        return encode(shaped)


_CAPABILITIES = pb.ServerCapabilities(get_provider_schema_optional=True)


def _known(types: Iterable[str]) -> str:
    return "This provider has " + ", ".join(sorted(types)) + "."


def _with(response: Any, diagnostics: Diagnostics) -> Any:
    response.diagnostics.extend(diagnostics.to_proto())
    return response


def _answer(diagnostics: Diagnostics, verb: str, what: str, call: Callable[[], None]) -> None:
    """Run ``call``; whatever it raises becomes an error diagnostic."""
    log.debug("%s %s", verb, what)
    try:
        call()
    except ProviderError as error:
        diagnostics.add(error.diagnostic)
    except WeirError as error:
        diagnostics.add(Diagnostic(Severity.ERROR, f"{verb} {what}: {error}"))
    except Exception as error:
        log.exception("%s %s failed", verb, what)
        diagnostics.add(
            Diagnostic(
                Severity.ERROR,
                f"{verb} {what} failed: {type(error).__name__}: {error}",
                "This is a fault in the Weir provider; the log (TF_LOG_PROVIDER=DEBUG) has "
                "the traceback.",
            )
        )
