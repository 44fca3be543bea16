"""Weir's Terraform provider (``source = "weir/weir"``): a Python plugin that Terraform drives over
plugin protocol 6, reaching Weir only through :class:`~controlplane.client.WeirClient`.

``runtime/`` is the protocol (schemas, planning, the gRPC service, the handshake); ``resources/``
holds one module per resource and data source; ``install`` puts the plugin where
``terraform init`` finds it.
"""
