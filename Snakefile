# vssl-bench: raw videos -> frame stores -> pretraining -> finetuning/evaluation -> tables and figures.
# Every rule calls the `vssl` command line; the logic lives in the package, where tests reach it.
# Which jobs exist is decided by workflow/plan.py from the config (see docs/workflow.md).
# `snakemake --lint` asks for a conda environment or container per rule; that advice is declined:
# every rule runs the one `vssl` package from the project's venv (pyproject.toml pins torch and
# torchvision), so per-rule environments would only copy it.
from snakemake.utils import min_version

min_version("9.0")


configfile: "config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/pretrain.smk"
include: "workflow/rules/finetune.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/report.smk"


rule all:
    input:
        get_final_outputs(),
    default_target: True
