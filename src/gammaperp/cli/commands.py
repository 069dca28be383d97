"""Imports every command module so that its commands register on the app."""

from __future__ import annotations

import importlib

_MODULES = (
    "gammaperp.cli.price",
    "gammaperp.cli.config_cmd",
    "gammaperp.cli.run_cmd",
    "gammaperp.cli.data_cmd",
    "gammaperp.cli.report_cmd",
)

for _name in _MODULES:
    try:
        importlib.import_module(_name)
    except ModuleNotFoundError as exc:  # a command module not written yet adds no command
        if exc.name != _name:
            raise
