"""The workflow plan as the tests import it (``pythonpath`` in pyproject.toml puts ``tests/`` on ``sys.path``).

``plan`` is the package ``workflow/plan/``, imported as ``common.smk`` imports it;
``workload_script`` is ``workflow/scripts/workload.py``, whose ``merge`` is Snakemake's
``--configfile`` merge (nested mappings updated key by key).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "workflow"))
import plan  # noqa: E402


def _load_script(name: str):
    spec = importlib.util.spec_from_file_location(f"vssl_workflow_{name}", REPO / "workflow" / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


workload_script = _load_script("workload")
merge = workload_script.merge


def paper_plan_counts() -> dict[str, int]:
    """The paper DAG's planned job counts (the dry-run test holds Snakemake to them)."""
    default = yaml.safe_load((REPO / "config.yaml").read_text())
    return plan.build_plan(merge(default, yaml.safe_load((REPO / "config" / "paper.yaml").read_text()))).job_counts()
