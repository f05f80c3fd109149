"""The command runner the report tests share (``pythonpath`` in pyproject.toml puts ``tests/`` on ``sys.path``)."""

from __future__ import annotations

import argparse
import importlib

from vssl.cli import COMMANDS


def vssl(*argv: str) -> int:
    """Run ``vssl CMD ARGS`` in this process, letting the command's errors propagate.

    `vssl.cli.main` would turn a user error (`ReportError`, ...) into one line and exit code 2;
    the tests check the error itself, so they call the command module the way `main` does.
    """
    module = importlib.import_module(COMMANDS[argv[0]][0])
    parser = argparse.ArgumentParser(prog=f"vssl {argv[0]}")
    module.add_arguments(parser)
    return int(module.run(parser.parse_args(list(argv[1:]))) or 0)
