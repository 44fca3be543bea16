"""The orchestration API: ``create_app(ApiSettings(...))`` builds it; see docs/api.md."""

from controlplane.api.app import create_app
from controlplane.api.settings import ApiSettings

__all__ = ["ApiSettings", "create_app"]
