# Config validation, global wildcard constraints and input functions shared by all stages.
# Nothing here imports vssl internals or touches CUDA: parsing must stay cheap (`snakemake -n` on the
# paper DAG). Which jobs exist is decided by workflow/plan/, plain Python that the tests import.
import os
import re
import shlex
import sys
from pathlib import Path

from snakemake.utils import validate

sys.path.insert(0, os.path.join(workflow.basedir, "workflow"))
import plan as vssl_plan  # noqa: E402  (the package workflow/plan/)


def _validate_config():
    """Snakemake's schema check, with the offending key's dotted path and the reason first."""
    try:
        validate(config, schema="../schemas/config.schema.yaml")
    except WorkflowError as err:
        text = str(err)
        where = re.search(r"On instance((?:\[[^\]]*\])*):", text)
        reason = re.search(r"ValidationError: (.*)", text)
        if not (where and reason):
            raise
        key = ".".join(k.strip("'\"") for k in re.findall(r"\[([^\]]*)\]", where.group(1)))
        raise WorkflowError(f"config {key or '(top level)'}: {reason.group(1)}\n\n{text}") from None


_validate_config()
# The experiment catalogue the plan and the report read (plan.check_catalogue checks what a schema cannot).
validate(vssl_plan.CATALOGUE, schema="../schemas/experiments.schema.yaml")


wildcard_constraints:
    dataset=r"[A-Za-z0-9_]+",
    store=r"[A-Za-z0-9_]+",
    name=r"[A-Za-z0-9_.+-]+",
    seed=r"\d+",
    key=r"[A-Za-z0-9_.+/@-]+",  # @: a suite row under a further protocol (vcop@r21d10-ucf101)
    stem=r"[A-Za-z0-9_.-]+",


SYNTHETIC = config["synthetic"]
SYNTH_MARKER = f"{SYNTHETIC['out']}/synth.json"
RUNTIME = config["runtime"]


def check_dataset_paths():
    """A missing dataset root or split file stops the run before any job starts, naming the path.

    Roots under the synthetic output are made by the DAG itself, so they are exempt.
    """
    missing = []
    for name, spec in config["datasets"].items():
        for key in ("root", "splits"):
            path = spec.get(key)
            if not path:
                continue
            if vssl_plan.made_by_synth(config, path):
                continue
            if not Path(path).exists():
                missing.append(f"datasets.{name}.{key}: {path}")
    if missing:
        listing = "\n  ".join(missing)
        raise WorkflowError(f"dataset paths do not exist:\n  {listing}")


def check_store_references():
    """Every store a section names exists in `stores`, and every store names a known dataset."""
    problems = []
    for name, spec in config["stores"].items():
        if spec["dataset"] not in config["datasets"]:
            problems.append(
                f"stores.{name}.dataset: {spec['dataset']!r} is not in datasets " f"({', '.join(config['datasets'])})"
            )
    refs = {f"rotnet.pools.{k}": v for k, v in config["rotnet"]["pools"].items()}
    refs.update({f"rotnet.datasets.{k}": v for k, v in config["rotnet"]["datasets"].items()})
    refs.update({f"v3s.datasets.{k}": v for k, v in config["v3s"]["datasets"].items()})
    if (config["rotnet"].get("supervised") or {}).get("store"):
        refs["rotnet.supervised.store"] = config["rotnet"]["supervised"]["store"]
    refs["v3s.pretrain_store"] = config["v3s"]["pretrain_store"]
    for backbone, own in config["v3s"].get("backbone_stores", {}).items():
        if own.get("pretrain_store"):
            refs[f"v3s.backbone_stores.{backbone}.pretrain_store"] = own["pretrain_store"]
        refs.update({f"v3s.backbone_stores.{backbone}.datasets.{k}": v for k, v in own.get("datasets", {}).items()})
    for i, protocol in enumerate((config.get("suite") or {}).get("protocols") or ()):
        refs[f"suite.protocols[{i}].store"] = protocol["store"]
    refs["v3s.aslan.store"] = config["v3s"]["aslan"]["store"]
    refs["v3s.illustrate.store"] = config["v3s"]["illustrate"]["store"]
    if config["v3s"].get("k400_store"):
        refs["v3s.k400_store"] = config["v3s"]["k400_store"]
    if config["rotnet"]["main_pool"] not in config["rotnet"]["pools"]:
        problems.append(f"rotnet.main_pool: {config['rotnet']['main_pool']!r} is not in rotnet.pools")
    for key, store in refs.items():
        if store not in config["stores"]:
            problems.append(f"{key}: store {store!r} is not in stores ({', '.join(config['stores'])})")
    if problems:
        listing = "\n  ".join(problems)
        raise WorkflowError(f"bad store references in the config:\n  {listing}")


check_dataset_paths()
check_store_references()
try:
    PLAN = vssl_plan.build_plan(config)
except vssl_plan.PlanError as err:
    raise WorkflowError(str(err)) from None


# --------------------------------------------------------------------------- data


def store_dir(store):
    return f"{config['data_dir']}/stores/{store}"


def get_store_manifest(store):
    return f"{store_dir(store)}/manifest.csv"


def get_extract_input(wildcards):
    dataset = config["stores"][wildcards.store]["dataset"]
    root = config["datasets"][dataset]["root"]
    if vssl_plan.made_by_synth(config, root):
        return [SYNTH_MARKER]
    return []


def splits_arg(store):
    splits = config["datasets"][config["stores"][store]["dataset"]].get("splits")
    return f"--splits {shlex.quote(str(splits))}" if splits else ""


def extract_size_args(store):
    spec = config["stores"][store]
    args = []
    if spec.get("size"):
        args.append("--size {} {}".format(*spec["size"]))
    elif spec.get("short_side"):
        args.append(f"--short-side {spec['short_side']}")
    if spec.get("frames"):
        args.append(f"--frames {spec['frames']}")
    return " ".join(args)


def synth_input_for(path):
    """The synthetic marker when ``path`` (a pairs file, say) is made by the synth rule."""
    if vssl_plan.made_by_synth(config, path):
        return [SYNTH_MARKER]
    return []


# --------------------------------------------------------------------------- jobs


def runtime_flags(train=False, workers=True):
    """Device flags shared by every torch command (`--gpus` only exists for training)."""
    flags = {"device": RUNTIME["device"]}
    if workers:
        flags["workers"] = RUNTIME["workers"]
    if workers and RUNTIME.get("amp", "none") != "none":
        flags["amp"] = RUNTIME["amp"]
    if train:
        flags["gpus"] = 1
        flags["progress"] = False
        if RUNTIME.get("frame_cache_mb", 0):
            flags["frame_cache_mb"] = RUNTIME["frame_cache_mb"]
    return vssl_plan.cli_flags(flags)


def pretrain_job(wildcards):
    try:
        return PLAN.pretrains[(wildcards.name, int(wildcards.seed))]
    except KeyError:
        raise WorkflowError(f"no pretraining {wildcards.name!r} seed {wildcards.seed} in the plan") from None


def finetune_job(wildcards):
    try:
        return PLAN.finetunes[(wildcards.name, int(wildcards.seed))]
    except KeyError:
        raise WorkflowError(f"no finetuning {wildcards.name!r} seed {wildcards.seed} in the plan") from None


def eval_job(kind, wildcards):
    try:
        return PLAN.evals[(kind, wildcards.key)]
    except KeyError:
        raise WorkflowError(f"no {kind} evaluation {wildcards.key!r} in the plan") from None


def eval_flags(job):
    settings = {k: v for k, v in job.settings.items() if k != "store"}
    store = job.settings.get("store")
    text = vssl_plan.cli_flags(settings)
    if store:
        text = f"--store {shlex.quote(store_dir(store))} {text}"
    return f"{text} {job.args}".strip()


def eval_inputs(kind):
    def inputs(wildcards):
        job = eval_job(kind, wildcards)
        files = list(job.inputs)
        if job.settings.get("store"):
            files.append(get_store_manifest(job.settings["store"]))
        return files

    return inputs


def pretrain_command(job):
    flags = vssl_plan.cli_flags(job.settings)
    gpus = int(RUNTIME["gpus"])
    if gpus > 1:
        # One process per GPU; each rank claims its own GPU slot (docs/execution.md).
        return f"torchrun --standalone --nproc_per_node {gpus} -m vssl pretrain {flags}"
    return f"vssl pretrain {flags}"


def finetune_input(wildcards):
    job = finetune_job(wildcards)
    files = [get_store_manifest(job.store)]
    if job.init is not None:
        # A step checkpoint (rot-F4b) is written by the same job as selected.pt, which stands for it.
        files.append(job.init.checkpoint)
    return files


def test_flags(job):
    """The finetune job's test settings (`test_settings`) as `vssl finetune --test-*` flags."""
    return vssl_plan.cli_flags({f"test_{key}": value for key, value in job.test_settings.items()})


def finetune_flags(job):
    flags = vssl_plan.cli_flags(job.settings)
    if job.init_file:
        flags += f" --init {job.init_file}"
    return flags


# --------------------------------------------------------------------------- targets

STEM_TO_ID = {vssl_plan.file_stem(i): i for i in vssl_plan.EXPERIMENT_IDS}


def table_id(wildcards):
    return STEM_TO_ID[wildcards.stem]


def experiment_outputs(experiment_id):
    stem = vssl_plan.file_stem(experiment_id)
    if experiment_id in vssl_plan.TABLE_IDS:
        return [f"results/tables/{stem}.csv", f"results/tables/{stem}.md"]
    return [f"results/figures/{stem}.png", f"results/figures/{stem}.pdf"]


SELECTED_IDS = vssl_plan.selected_ids(config)


def get_final_outputs():
    outputs = [get_store_manifest(store) for store in config["stores"]]
    for experiment_id in SELECTED_IDS:
        outputs += experiment_outputs(experiment_id)
    outputs += ["results/SUMMARY.md", "results/tables/claims.md"]
    return outputs
