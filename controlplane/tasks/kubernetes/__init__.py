"""Kubernetes: the Pod task runner of script tasks and Kestra's Kubernetes tasks; importing this
package registers the tasks (the runner is reached from controlplane.tasks.scripts)."""

from controlplane.tasks.kubernetes import kubectl, podcreate

__all__ = ["kubectl", "podcreate"]
