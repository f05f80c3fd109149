"""YAML syntax errors with the file, line and column (Snakemake's own message names neither).

Used by the Snakefile for the default ``config.yaml`` before its ``configfile:`` directive loads it,
and by ``workflow/scripts/make_run.py`` for every ``--configfile`` on the command line (Snakemake
reads those itself, before the Snakefile runs). Plain Python: no vssl, no torch.
"""

from __future__ import annotations

from pathlib import Path

import yaml


def yaml_problem(path: str | Path) -> str | None:
    """``"PATH:LINE:COL: what is wrong"`` when ``path`` is not valid YAML, else None (also when it is missing)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return None  # Snakemake's own message names a missing file
    except (OSError, UnicodeDecodeError) as err:
        return f"{path}: cannot read it as UTF-8 text ({err})"
    try:
        yaml.safe_load(text)
    except yaml.MarkedYAMLError as err:
        mark, opened = err.problem_mark or err.context_mark, err.context_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        what = " ".join(part for part in (err.context, err.problem) if part)
        if opened is not None and mark is not None and opened.line != mark.line:
            what += f" (the construct opened at line {opened.line + 1}, column {opened.column + 1})"
        return f"{where}: invalid YAML: {what}"
    except yaml.YAMLError as err:
        return f"{path}: invalid YAML: {err}"
    return None


def configfiles_in(argv: list[str]) -> list[str]:
    """The files a Snakemake command line passes with ``--configfile``/``--configfiles`` (one or more each)."""
    files, taking = [], False
    for arg in argv:
        if arg in ("--configfile", "--configfiles"):
            taking = True
        elif arg.startswith(("--configfile=", "--configfiles=")):
            files.append(arg.split("=", 1)[1])
            taking = False
        elif taking and not arg.startswith("-"):
            files.append(arg)
        else:
            taking = False
    return files
