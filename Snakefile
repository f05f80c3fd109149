# vssl-bench: raw videos -> frame stores -> pretraining -> finetuning/evaluation -> tables and figures.
# Every rule calls the `vssl` command line; the logic lives in the package, where tests reach it.
from snakemake.utils import min_version

min_version("9.0")


configfile: "config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"


rule all:
    input:
        get_final_outputs(),
    default_target: True
