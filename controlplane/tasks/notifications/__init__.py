"""Notifications: POST JSON to a chat service's incoming webhook (Slack, Discord, Teams, Google
Chat) or to any URL (Weir's WebhookExecution); importing this package registers their
implementations.

Every type goes through :func:`webhook.deliver`: the body is sent as JSON; a 429 answer is
retried up to three times after the delay the service asks for (``Retry-After``, or Discord's
``retry_after``); any answer but a 2xx fails the task with the status and the service's error
text. A webhook URL is a credential (Slack's and Discord's carry a token in the path, Google's in
the query), so it is only ever named as ``scheme://host/********``, its path and query are
scrubbed from any error text, and a connection error names the host only.

The ``*Execution`` types describe an execution with a :class:`summary.Summary`. In an ``errors``
branch the execution is still RUNNING: it is reported FAILED when one of its task runs failed. In
``afterExecution`` or from a Flow trigger it is terminated and reported in its own state.

Modules, each depending only on those above it:

- ``webhook``: the webhook of a task (URL, headers, timeouts, proxy, secrets), sending with
  retries on 429, errors told without the URL's secrets.
- ``summary``: what an ``*Execution`` notification says about an execution.
- ``services``: the message of each service, and the tasks that send it.
"""

from controlplane.tasks.notifications import services

__all__ = ["services"]
