# Config validation, global wildcard constraints and input functions shared by all stages.
# Nothing here imports vssl internals or touches CUDA: parsing must stay cheap (`snakemake -n` on the paper DAG).
import shlex
from pathlib import Path

from snakemake.utils import validate


validate(config, schema="../schemas/config.schema.yaml")


wildcard_constraints:
    dataset=r"[A-Za-z0-9_]+",
    store=r"[A-Za-z0-9_]+",


SYNTHETIC = config["synthetic"]
SYNTH_MARKER = f"{SYNTHETIC['out']}/synth.json"


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
            if SYNTHETIC["enabled"] and Path(path).is_relative_to(SYNTHETIC["out"]):
                continue
            if not Path(path).exists():
                missing.append(f"datasets.{name}.{key}: {path}")
    if missing:
        raise WorkflowError("dataset paths do not exist:\n  " + "\n  ".join(missing))


check_dataset_paths()


def store_dir(store):
    return f"{config['data_dir']}/stores/{store}"


def get_store_manifest(store):
    return f"{store_dir(store)}/manifest.csv"


def get_extract_input(wildcards):
    dataset = config["stores"][wildcards.store]["dataset"]
    root = config["datasets"][dataset]["root"]
    if SYNTHETIC["enabled"] and Path(root).is_relative_to(SYNTHETIC["out"]):
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


def get_final_outputs():
    return [get_store_manifest(store) for store in config["stores"]]
