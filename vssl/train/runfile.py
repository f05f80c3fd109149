"""Run settings: dataclass fields <-> CLI flags <-> one YAML run file.

Every setting is one dataclass field; the field ``clip_length`` is the flag
``--clip-length`` and the run-file key ``clip_length`` (or ``clip-length``),
and the training function reads it as ``config.clip_length``. Precedence:
field default < run file < flags given on the command line.

Bad run files fail with the file name and line: unknown keys (with the valid
ones listed), values of the wrong type, YAML syntax errors.
"""

from __future__ import annotations

import argparse
import dataclasses
import typing
from pathlib import Path
from typing import Any, TypeVar

import yaml

C = TypeVar("C")

MISSING_REQUIRED = object()


def setting(
    default: Any = MISSING_REQUIRED,
    help: str = "",
    *,
    choices: typing.Sequence[Any] | None = None,
    metavar: str | None = None,
    cli: bool = True,
    minimum: float | None = None,
    maximum: float | None = None,
    above: float | None = None,
) -> Any:
    """A config field with its CLI help. ``default`` omitted = required (flag or run file).

    ``minimum`` / ``maximum`` bound the value inclusively, ``above`` exclusively; `build_config`
    enforces them and `json_schema` exports them, so the workflow's config schema checks the same
    ranges before any job starts.
    """
    metadata = {
        "help": help,
        "choices": tuple(choices) if choices else None,
        "metavar": metavar,
        "cli": cli,
        "minimum": minimum,
        "maximum": maximum,
        "above": above,
    }
    if isinstance(default, (list, dict, set)):
        return dataclasses.field(default_factory=lambda d=default: type(d)(d), metadata=metadata)
    if default is MISSING_REQUIRED:
        return dataclasses.field(default=None, metadata={**metadata, "required": True})
    return dataclasses.field(default=default, metadata=metadata)


class RunFileError(ValueError):
    """A run file (or flag set) is malformed; the message names the file and line."""


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _base_type(tp: Any) -> tuple[Any, bool]:
    """(inner type, optional?) for ``X | None`` annotations."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0], True
    return tp, False


def add_config_arguments(parser: argparse.ArgumentParser, cls: type) -> None:
    """One flag per CLI-exposed field of dataclass ``cls``; absent flags stay absent (SUPPRESS)."""
    hints = typing.get_type_hints(cls)
    parser.add_argument(
        "--run-file",
        type=Path,
        default=argparse.SUPPRESS,
        metavar="YAML",
        help="YAML file of settings (keys = flag names); flags given here override it",
    )
    for f in dataclasses.fields(cls):
        if not f.metadata.get("cli", True):
            continue
        tp, _ = _base_type(hints[f.name])
        kwargs: dict[str, Any] = {"default": argparse.SUPPRESS, "dest": f.name}
        text = f.metadata.get("help", "")
        if f.metadata.get("required"):
            text += " (required)"
        elif f.default is not dataclasses.MISSING and f.default is not None and tp is not bool:
            text += f" (default: {f.default})"
        kwargs["help"] = text
        if f.metadata.get("metavar"):
            kwargs["metavar"] = f.metadata["metavar"]
        if f.metadata.get("choices"):
            kwargs["choices"] = f.metadata["choices"]
        origin = typing.get_origin(tp)
        if tp is bool:
            kwargs["action"] = argparse.BooleanOptionalAction
            if f.default is not None:
                kwargs["help"] = text + f" (default: {'on' if f.default else 'off'})"
        elif origin in (list, tuple):
            inner = typing.get_args(tp)[0] if typing.get_args(tp) else str
            kwargs["type"] = inner
            kwargs["nargs"] = "*"
        elif origin is dict:
            kwargs["type"] = _key_value
            kwargs["action"] = "append"
            kwargs["metavar"] = kwargs.get("metavar", "KEY=VALUE")
        elif tp in (int, float, str):
            kwargs["type"] = tp
        else:
            kwargs["type"] = str
        parser.add_argument(_flag(f.name), **kwargs)


def _key_value(text: str) -> tuple[str, Any]:
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    key, value = text.split("=", 1)
    # Values are YAML scalars/lists so "angles=[0, 90]" and "loss=l1" both work.
    try:
        return key.strip(), yaml.safe_load(value)
    except yaml.YAMLError as exc:
        raise argparse.ArgumentTypeError(f"{text!r}: value is not valid YAML ({exc})") from None


def _coerce(value: Any, tp: Any, where: str) -> Any:
    inner, optional = _base_type(tp)
    if value is None:
        if optional:
            return None
        raise RunFileError(f"{where}: null is not allowed here")
    origin = typing.get_origin(inner)
    if inner is bool:
        if isinstance(value, bool):
            return value
        raise RunFileError(f"{where}: expected true/false, got {value!r}")
    if inner is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise RunFileError(f"{where}: expected an integer, got {value!r}")
    if inner is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise RunFileError(f"{where}: expected a number, got {value!r}")
    if inner is str:
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return str(value)
        raise RunFileError(f"{where}: expected a string, got {value!r}")
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            value = [value]
        args = typing.get_args(inner)
        item_tp = args[0] if args else Any
        items = [_coerce(v, item_tp, f"{where}[{i}]") if item_tp is not Any else v for i, v in enumerate(value)]
        return list(items)
    if origin is dict:
        if isinstance(value, dict):
            return dict(value)
        raise RunFileError(f"{where}: expected a mapping, got {value!r}")
    return value


def read_run_file(path: str | Path) -> dict[str, tuple[Any, int]]:
    """Top-level mapping of a YAML run file: key -> (value, 1-based line)."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise RunFileError(f"{path}: cannot read run file ({exc.strerror})") from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        raise RunFileError(f"{where}: invalid YAML: {getattr(exc, 'problem', exc)}") from None
    if data is None:
        return {}
    if not isinstance(data, dict) or not isinstance(node, yaml.MappingNode):
        raise RunFileError(f"{path}:1: a run file must be a mapping of setting: value")
    lines = {str(k.value): k.start_mark.line + 1 for k, _ in node.value}
    return {str(k): (v, lines.get(str(k), 1)) for k, v in data.items()}


def build_config(
    cls: type[C], args: argparse.Namespace | None = None, run_file: str | Path | None = None, **overrides: Any
) -> C:
    """Defaults < run file < ``args`` (only flags actually given) < ``overrides``."""
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    values: dict[str, Any] = {}
    ns = vars(args) if args is not None else {}
    run_file = run_file if run_file is not None else ns.get("run_file")
    if run_file is not None:
        for key, (value, line) in read_run_file(run_file).items():
            name = key.replace("-", "_")
            if name not in fields:
                valid = ", ".join(sorted(fields))
                raise RunFileError(f"{run_file}:{line}: unknown setting {key!r}; valid settings: {valid}")
            coerced = _coerce(value, hints[name], f"{run_file}:{line}: {key}")
            choices = fields[name].metadata.get("choices")
            if choices and coerced not in choices:
                raise RunFileError(f"{run_file}:{line}: {key}={coerced!r} is not one of {list(choices)}")
            values[name] = coerced
    for name, value in ns.items():
        if name not in fields:
            continue
        if typing.get_origin(_base_type(hints[name])[0]) is dict and isinstance(value, list):
            # Repeated KEY=VALUE flags merge into (and override keys of) the run file's mapping.
            merged = dict(values.get(name) or {})
            merged.update(dict(value))
            value = merged
        values[name] = value
    values.update(overrides)
    for name, value in values.items():
        check_range(fields[name], value)
    missing = [n for n, f in fields.items() if f.metadata.get("required") and values.get(n) is None]
    if missing:
        raise RunFileError("missing required setting(s): " + ", ".join(_flag(n) for n in missing))
    return cls(**values)


def config_to_dict(config: Any) -> dict[str, Any]:
    """Plain JSON/checkpoint-safe dict of a config (Paths -> str, tuples -> lists)."""

    def plain(v: Any) -> Any:
        if isinstance(v, Path):
            return str(v)
        if isinstance(v, (list, tuple)):
            return [plain(x) for x in v]
        if isinstance(v, dict):
            return {str(k): plain(x) for k, x in v.items()}
        return v

    return {f.name: plain(getattr(config, f.name)) for f in dataclasses.fields(config)}


def check_range(f: dataclasses.Field, value: Any) -> None:
    """Raise `RunFileError` naming the flag when ``value`` is outside the field's declared range."""
    items = value if isinstance(value, list) else [value]
    for item in items:
        if not isinstance(item, (int, float)) or isinstance(item, bool):
            continue
        low, high, above = (f.metadata.get(k) for k in ("minimum", "maximum", "above"))
        if (
            (low is not None and item < low)
            or (high is not None and item > high)
            or (above is not None and item <= above)
        ):
            raise RunFileError(f"{_flag(f.name)} {item!r}: {range_text(f)}")


def range_text(f: dataclasses.Field) -> str:
    low, high, above = (f.metadata.get(k) for k in ("minimum", "maximum", "above"))
    parts = (
        ([f"> {above:g}"] if above is not None else [])
        + ([f">= {low:g}"] if low is not None else [])
        + ([f"<= {high:g}"] if high is not None else [])
    )
    return "must be " + " and ".join(parts)


def _json_type(tp: Any) -> dict[str, Any]:
    inner, optional = _base_type(tp)
    origin = typing.get_origin(inner)
    if origin in (list, tuple):
        args = typing.get_args(inner)
        return {
            "type": ["array", "number"] if args and args[0] in (int, float) else "array",
            **({"items": _json_type(args[0])} if args and args[0] is not Any else {}),
        }
    kind = {bool: "boolean", int: "integer", float: "number", str: "string"}.get(inner)
    if origin is dict:
        kind = "object"
    if kind is None:
        return {}
    return {"type": [kind, "null"] if optional else kind}


def json_schema(*classes: type) -> dict[str, Any]:
    """JSON-schema ``properties`` for the CLI fields of ``classes``: type, enum and range of each.

    The same metadata `build_config` applies, so the workflow schema generated from it
    (`workflow/scripts/flag_schema.py`) rejects what the command would reject.
    """
    properties: dict[str, Any] = {}
    for cls in classes:
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            if not f.metadata.get("cli", True):
                continue
            spec = _json_type(hints[f.name])
            if f.metadata.get("choices"):
                spec["enum"] = list(f.metadata["choices"]) + ([None] if _base_type(hints[f.name])[1] else [])
            for key, schema_key in (("minimum", "minimum"), ("maximum", "maximum"), ("above", "exclusiveMinimum")):
                if f.metadata.get(key) is not None:
                    for target in (spec, spec.get("items")):  # a list's items and a scalar given for the list
                        if target is not None:
                            target[schema_key] = f.metadata[key]
            if f.metadata.get("help"):
                spec["description"] = f.metadata["help"]
            previous = properties.get(f.name)
            if previous is not None and previous.get("type") != spec.get("type"):
                raise ValueError(
                    f"{f.name}: {cls.__name__} types it {spec.get('type')}, another class {previous.get('type')}"
                )
            properties.setdefault(f.name, spec)
    return properties
