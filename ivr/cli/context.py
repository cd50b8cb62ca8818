"""The hotline a command works on: built once per command from the environment's settings."""

from __future__ import annotations

import click

from ivr.config import load_settings
from ivr.hotline import Hotline


def command_hotline() -> Hotline:
    """The running command's hotline: the one handed in as `obj` (tests), else one built and later closed."""
    root = click.get_current_context().find_root()
    if root.obj is None:
        built = Hotline.build(load_settings())
        root.obj = built
        root.call_on_close(built.engine.dispose)
    hotline: Hotline = root.obj
    return hotline
