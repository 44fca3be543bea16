"""Stripe (``io.kestra.plugin.stripe.balance.Retrieve``): the account's balance over Stripe's
API, authenticated by a secret ``apiKey``. ``STRIPE_BASE_URL`` in the worker's environment
moves the API."""

from __future__ import annotations

from controlplane.spec.fields import Text
from controlplane.spec.registry import task
from controlplane.spec.tasks import TaskSpec


@task("io.kestra.plugin.stripe.balance.Retrieve")
class StripeBalanceRetrieve(TaskSpec):
    """Outputs ``available`` and ``pending`` (``currency`` and ``amount`` each) and ``raw``
    (Stripe's Balance object)."""

    apiKey: Text
