# vssl-bench: raw videos -> frame stores -> pretraining -> finetuning/evaluation -> tables and figures.
# Every rule calls the `vssl` command line; the logic lives in the package, where tests reach it.
# Which jobs exist is decided by workflow/plan.py from the config (see docs/workflow.md).
# `snakemake --lint` asks for a conda environment or container per rule; that advice is declined:
# every rule runs the one `vssl` package from the project's venv (pyproject.toml pins torch and
# torchvision), so per-rule environments would only copy it.
import os
import sys

from snakemake.exceptions import WorkflowError
from snakemake.utils import min_version

min_version("9.0")

sys.path.insert(0, os.path.join(workflow.basedir, "workflow"))
from configcheck import yaml_problem  # noqa: E402  (workflow/configcheck.py)

# Snakemake's YAML error names no file or line; say both before the directive loads the file.
_config_problem = yaml_problem("config.yaml")
if _config_problem:
    raise WorkflowError(_config_problem)


configfile: "config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/pretrain.smk"
include: "workflow/rules/finetune.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/report.smk"


rule all:
    default_target: True
    input:
        get_final_outputs(),
