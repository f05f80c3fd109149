# Data stage: the synthetic dataset (embedded default only) and frame extraction into stores.


rule synth:
    output:
        SYNTH_MARKER,
    log:
        "logs/data/synth.log",
    benchmark:
        "benchmarks/data/synth.tsv"
    threads: workflow.cores
    params:
        out=lambda wc, output: os.path.dirname(output[0]),
        seed=SYNTHETIC["seed"],
        scale=SYNTHETIC["scale"],
    shell:
        "vssl synth {params.out:q} --seed {params.seed} --scale {params.scale} --jobs {threads} > {log:q} 2>&1"


rule extract:
    input:
        get_extract_input,
    output:
        manifest=f"{config['data_dir']}/stores/{{store}}/manifest.csv",
        failures=f"{config['data_dir']}/stores/{{store}}/failures.csv",
    log:
        "logs/data/extract_{store}.log",
    benchmark:
        "benchmarks/data/extract_{store}.tsv"
    threads: workflow.cores
    params:
        dataset=lambda wc: config["datasets"][config["stores"][wc.store]["dataset"]]["format"],
        root=lambda wc: config["datasets"][config["stores"][wc.store]["dataset"]]["root"],
        splits=lambda wc: splits_arg(wc.store),
        size=lambda wc: extract_size_args(wc.store),
        quality=config["extract"]["quality"],
        min_frames=config["extract"]["min_frames"],
        skip_missing="--skip-missing" if config["extract"]["skip_missing"] else "",
        out=lambda wc: store_dir(wc.store),
    shell:
        "vssl extract --dataset {params.dataset} --root {params.root:q}"
        " {params.splits}"
        " --out {params.out:q} {params.size} --quality {params.quality} --min-frames {params.min_frames}"
        " {params.skip_missing} --jobs {threads} > {log:q} 2>&1"
