"""``terraform-provider-weir``: the process Terraform starts for ``source = "weir/weir"``."""

from __future__ import annotations

import os
import sys

NAME = "terraform-provider-weir"


def main() -> None:
    profiles = None
    if os.environ.get("WEIR_PROVIDER_PROFILE"):
        from controlplane.provider.runtime.profiling import profiles_from_environment

        profiles = profiles_from_environment()
    from controlplane.provider.resources import weir_provider
    from controlplane.provider.runtime.plugin import serve

    code = serve(weir_provider(), NAME)
    if profiles is not None:
        profiles.write()
    # The server has stopped and its socket is gone. Terraform waits for this process to end
    # (three times in a plan), so it ends here rather than through the interpreter's teardown,
    # which joins every idle worker thread and collects every module.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    main()
