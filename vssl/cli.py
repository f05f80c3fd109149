"""`vssl <command>`: one sub-command per workflow action.

Commands live in their own modules and are imported only when called, so
`vssl --help` stays fast and a rule pays only for what it uses. A command
module exposes ``add_arguments(parser)`` and ``run(args) -> int | None``.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable
from pathlib import Path

from vssl.utils.errors import USER_ERRORS

# name -> (module, one-line help). Modules that do not exist yet are hidden.
COMMANDS: dict[str, tuple[str, str]] = {
    "synth": ("vssl.data.synth", "generate the synthetic dataset in official layouts"),
    "extract": ("vssl.data.extract", "decode videos into a JPEG frame store"),
    "manifest": ("vssl.data.datasets.cli", "parse a dataset's official layout into a manifest CSV"),
    "models": ("vssl.models.cli", "list registered models with parameter counts and GMACs"),
    "pretexts": ("vssl.kernels.cli", "list registered pretexts with their heads, class counts and papers"),
    "pretrain": ("vssl.train.pretrain", "pretrain a backbone on a pretext task"),
    "finetune": ("vssl.finetune_and_test", "finetune a backbone for action recognition (and test it: --test-out)"),
    "test": ("vssl.eval.test", "video-level action recognition test (N clips per video)"),
    "fuse": ("vssl.eval.fuse", "geometric-mean fusion of two models' class scores"),
    "eval-rotation": ("vssl.eval.rotation", "rotation-recognition accuracy (3DRotNet Table 1, Fig. 4b)"),
    "eval-pretext": ("vssl.eval.pretext", "a checkpoint's accuracy on its own pretext (suite-T1)"),
    "retrieve": ("vssl.eval.retrieval", "nearest-neighbour video retrieval (VCOP protocol)"),
    "aslan": ("vssl.eval.aslan", "ASLAN action similarity (12 measures x 3 layers, linear SVM)"),
    "linear-probe": ("vssl.eval.probe", "linear probe on frozen features"),
    "knn": ("vssl.eval.knn", "k-NN classification on frozen features"),
    "frozen-eval": ("vssl.eval.frozen", "retrieval, linear probe and k-NN on one extraction of frozen features"),
    "attention": ("vssl.eval.attention", "attention maps, Grad-CAM and first-layer kernels"),
    "illustrate": ("vssl.eval.illustrate", "the V3S transforms on one real clip (V3S Figs. 1-2)"),
    "table": ("vssl.report.tables", "render one experiment's table"),
    "figure": ("vssl.report.figures", "render one experiment's figure"),
    "average": ("vssl.report.average", "mean of one metric over result files (e.g. over splits)"),
    "curve": ("vssl.report.curve", "rot-F4b points: rotation vs action accuracy per checkpoint"),
    "summary": ("vssl.report.summary", "claims table and SUMMARY.md"),
}


_PACKAGE_ROOT = Path(__file__).resolve().parent.parent


def _available(module: str) -> bool:
    # Look for the file instead of find_spec, which would import parent
    # packages (and torch with them) just to print --help.
    base = _PACKAGE_ROOT.joinpath(*module.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def build_parser() -> argparse.ArgumentParser:
    from vssl import __version__

    parser = argparse.ArgumentParser(prog="vssl", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"vssl {__version__}")
    parser.add_argument(
        "--debug",
        action="store_true",
        help="show the traceback of a user error (a bad path or value) instead of one line",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module, help_text) in COMMANDS.items():
        if _available(module):
            sub.add_parser(name, help=help_text, add_help=False)
    return parser


# A user's mistake, not a bug (vssl.utils.errors): one line on stderr and exit 2;
# `vssl --debug CMD ...` (or VSSL_DEBUG=1) shows the traceback instead.
EXIT_USER_ERROR = 2


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = bool(os.environ.get("VSSL_DEBUG"))
    if argv[:1] == ["--debug"]:
        debug, argv = True, argv[1:]
    parser = build_parser()
    if not argv or argv[0].startswith("-") or argv[0] not in COMMANDS:
        parser.parse_args(argv)  # prints help / version / the usage error
        return 2
    name, rest = argv[0], argv[1:]
    module_name, help_text = COMMANDS[name]
    if not _available(module_name):
        parser.error(f"command {name!r} is not available in this build")
    module = importlib.import_module(module_name)
    sub = argparse.ArgumentParser(prog=f"vssl {name}", description=help_text)
    module.add_arguments(sub)
    args = sub.parse_args(rest)
    try:
        result = module.run(args)
    except USER_ERRORS as exc:
        if debug:
            raise
        if not getattr(exc, "vssl_logged", False):  # a command's log handler has not printed it yet
            print(f"vssl {name}: error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    return int(result or 0)


def finish(command_main: Callable[[list[str]], int], argv: list[str]) -> int:
    """Run ``command_main(argv)`` and flush everything; the exit code (argparse's SystemExit included)."""
    import logging

    try:
        code = command_main(argv)
    except SystemExit as stop:  # argparse errors and --help
        code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
        if stop.code is not None and not isinstance(stop.code, int):
            print(stop.code, file=sys.stderr)
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    return code


def console() -> None:
    """The ``vssl`` executable: `main` (in a fork of `make run`'s fork server when there is one), then
    exit without tearing the interpreter down.

    A normal exit garbage-collects torch's thousands of objects and costs about 2 s per process
    on the 2-core machine, and the workflow runs hundreds of ``vssl`` processes. Every output is
    written atomically and closed before a command returns, so after flushing the log handlers and
    the standard streams nothing is lost by ``os._exit``.
    """
    argv = sys.argv[1:]
    server = os.environ.get("VSSL_FORK_SERVER")
    if server:
        from vssl.runtime.forkserver import run_via_server

        code = run_via_server(server, argv)
        if code is not None:
            os._exit(code)
    os._exit(finish(main, argv))


if __name__ == "__main__":
    console()
