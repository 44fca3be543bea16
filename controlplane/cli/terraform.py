"""``weir terraform install``: make ``source = "weir/weir"`` resolve to this Weir's provider.

The provider is installed into Terraform's implied local mirror (``~/.terraform.d/plugins``), so
``terraform init`` finds it with no network and no CLI configuration. ``--dir`` names another
plugins directory, such as the ``path`` of a ``filesystem_mirror`` in a ``.terraformrc``.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rich.console import Console


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "terraform", help="install Weir's Terraform provider", description=__doc__
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    install = actions.add_parser(
        "install", help="put the provider where `terraform init` finds it offline"
    )
    install.add_argument(
        "--dir",
        type=Path,
        metavar="DIR",
        help="plugins directory (default: ~/.terraform.d/plugins, an implied local mirror)",
    )
    install.set_defaults(handler=_install)


def _install(args: argparse.Namespace) -> int:
    from controlplane.provider.install import environment_hint, install

    installed = install(args.dir)
    console = Console(highlight=False, soft_wrap=True)
    console.print(f"Installed weir/weir {installed.version} ({installed.platform})")
    console.print(f"  {installed.launcher}")
    console.print("Use it with:")
    console.print(
        "  terraform {\n"
        '    required_providers { weir = { source = "weir/weir" } }\n'
        "  }\n"
        f"  {environment_hint()}",
        markup=False,
    )
    return 0
