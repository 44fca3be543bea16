"""``terraform-provider-weir``: the process Terraform starts for ``source = "weir/weir"``."""

from __future__ import annotations

import sys

NAME = "terraform-provider-weir"


def main() -> None:
    from controlplane.provider.provider import WeirProvider
    from controlplane.provider.runtime.plugin import serve

    sys.exit(serve(WeirProvider(), NAME))


if __name__ == "__main__":
    main()
