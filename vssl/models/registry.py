"""Name -> backbone builder registry.

Builders are keyword-only functions of plain arguments (``width``,
``in_channels``, ``small_input``) returning a `Backbone`; they never take a
config object, so a config key maps to exactly one builder argument.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from vssl.models.base import Backbone

Builder = TypeVar("Builder", bound=Callable[..., Backbone])


@dataclass(frozen=True)
class ModelSpec:
    """A registered builder and what the papers say about it.

    ``paper_params_m`` is the parameter count (millions) a paper quotes for the
    architecture, ``paper_source`` where it comes from; both None when no paper
    gives one.
    """

    name: str
    builder: Callable[..., Backbone]
    paper_params_m: float | None
    paper_source: str | None

    @property
    def description(self) -> str:
        doc = inspect.getdoc(self.builder) or ""
        return doc.splitlines()[0] if doc else ""


_REGISTRY: dict[str, ModelSpec] = {}


def register_model(
    name: str, *, paper_params_m: float | None = None, paper_source: str | None = None
) -> Callable[[Builder], Builder]:
    """Decorator registering a backbone builder under ``name``; duplicates are an error."""
    if not name or not name.isidentifier():
        raise ValueError(f"model name must be a Python identifier, got {name!r}")

    def decorator(builder: Builder) -> Builder:
        if name in _REGISTRY:
            existing = _REGISTRY[name].builder
            raise ValueError(f"model {name!r} is already registered (by {existing.__module__}.{existing.__qualname__})")
        signature = inspect.signature(builder)
        positional = [
            p.name
            for p in signature.parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL)
        ]
        if positional:
            raise TypeError(f"builder for {name!r} must take keyword-only arguments, got positional {positional}")
        _REGISTRY[name] = ModelSpec(name, builder, paper_params_m, paper_source)
        return builder

    return decorator


def unregister_model(name: str) -> None:
    """Remove a registration (for tests and plugins that re-register)."""
    model_spec(name)
    del _REGISTRY[name]


def list_models() -> list[str]:
    """Registered model names, sorted."""
    return sorted(_REGISTRY)


def model_spec(name: str) -> ModelSpec:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; registered models: {', '.join(list_models())}") from None


def get_model(name: str, **kwargs: Any) -> Backbone:
    """Build the backbone registered as ``name`` with keyword arguments ``kwargs``."""
    spec = model_spec(name)
    signature = inspect.signature(spec.builder)
    try:
        signature.bind(**kwargs)
    except TypeError as error:
        accepted = ", ".join(signature.parameters) or "none"
        raise TypeError(f"model {name!r}: {error} (accepted arguments: {accepted})") from None
    return spec.builder(**kwargs)
