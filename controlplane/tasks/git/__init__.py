"""Git tasks with the ``git`` CLI: Clone, and the syncs from a repository to the control plane;
importing this package registers their implementations.

Credentials never reach argv, ``.git/config``, a log line, a message or an output:

- user-info written in an http(s) ``url`` is taken out of it and used as username/password
  (a lone user is taken for a token);
- username/password go to git as an ``Authorization: Basic`` header scoped to the URL
  (``http.<url>.extraHeader``), set through ``GIT_CONFIG_*`` environment variables; a password
  without username is sent with the user name ``git``, which token-based hosts accept;
- ``privateKey`` is written to a 0600 file of a private temporary directory removed afterwards,
  and its ``passphrase`` reaches ssh through ``SSH_ASKPASS``;
- every line git prints is scrubbed of those values before it is logged.

A sync clones the branch into a temporary directory, reads the folder, computes what changes
(a pure diff against the control plane), refuses before writing anything when a flow is invalid
or a changed object belongs to another manager, then applies the changes; ``dryRun`` stops after
the diff. Deletions (``delete: true``) touch only unmanaged objects and the sync's own, never the
flow that runs the task. The diff is an ION file with one struct per line, as Kestra writes it:
``{gitPath, syncState, kestraPath}`` for files, ``{gitPath, syncState, flowId, namespace,
revision}`` for flows.

Modules, each depending only on those above it:

- ``remote``: the repository to reach, its credentials, the git process and the clone itself.
- ``clone``: the Clone task.
- ``folder``: reading the synced folder of a checkout, ``.kestraignore`` rules applied.
- ``sync``: SyncNamespaceFiles, SyncFlows and Sync: plans, changes applied, the diff file.
- ``pushing``: what the pushes share: the branch checked out, the changes described, committed
  and pushed.
- ``push``: PushFlows, the other way: a namespace's flows committed and pushed.
- ``push_files``: PushNamespaceFiles: a namespace's files committed and pushed.
- ``namespace_sync``: NamespaceSync and TenantSync: namespaces and a repository made equal,
  either way.
"""

from controlplane.tasks.git import clone, namespace_sync, push, push_files, sync

__all__ = ["clone", "namespace_sync", "push", "push_files", "sync"]
