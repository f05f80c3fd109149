"""Logging of one command: its log file and stderr, through the ``vssl`` package logger.

Every module logs to ``logging.getLogger(__name__)`` (a child of ``vssl``), so one pair of handlers
on ``vssl`` reaches all of them; it does not propagate to the root logger, so a command run inside
another process (tests, benchmarks) adds nothing there. Under Snakemake, stderr goes to the rule's
file in ``logs/`` and the log file to the job's output directory.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator
from pathlib import Path

from vssl.utils.errors import USER_ERRORS

PACKAGE_LOGGER = "vssl"
_FORMAT = logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%Y-%m-%d %H:%M:%S")


def setup_logging(log_path: Path | None, *, console_level: int = logging.INFO) -> logging.Logger:
    """INFO and up to ``log_path`` (when given), ``console_level`` and up to stderr; replaces earlier handlers."""
    logger = logging.getLogger(PACKAGE_LOGGER)
    close_logging()
    logger.setLevel(logging.INFO)
    logger.propagate = False
    console = logging.StreamHandler(sys.stderr)
    console.setFormatter(_FORMAT)
    console.setLevel(console_level)
    logger.addHandler(console)
    if log_path is not None:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        file_handler = logging.FileHandler(log_path)
        file_handler.setFormatter(_FORMAT)
        logger.addHandler(file_handler)
    return logger


def close_logging() -> None:
    logger = logging.getLogger(PACKAGE_LOGGER)
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()


@contextlib.contextmanager
def command_logging(
    log_path: Path, *, console_level: int = logging.INFO, user_errors: tuple[type[BaseException], ...] = USER_ERRORS
) -> Iterator[logging.Logger]:
    """Log a command to ``log_path`` and stderr, including the error that ends it, if any.

    The error is re-raised marked ``vssl_logged``, so the caller does not print it a second time.
    """
    logger = setup_logging(log_path, console_level=console_level)
    try:
        yield logger
    except SystemExit as exc:
        if exc.code not in (0, None):
            logger.error("%s", exc.code)
        raise
    except user_errors as exc:
        logger.error("error: %s", exc)
        exc.vssl_logged = True  # type: ignore[attr-defined]
        raise
    except Exception:
        logger.exception("command failed")
        raise
    finally:
        close_logging()
