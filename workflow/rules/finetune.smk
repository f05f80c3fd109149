# Finetuning and the video-level test (10 clips per video) of every finetuned model.


rule finetune:
    input:
        finetune_input,
    output:
        checkpoint="results/finetune/{name}/seed{seed}/final.pt",
    params:
        flags=lambda wc: finetune_flags(finetune_job(wc)),
        store=lambda wc: store_dir(finetune_job(wc).store),
        out=lambda wc, output: os.path.dirname(output.checkpoint),
        runtime=runtime_flags(train=True),
    threads: RUNTIME["threads"]
    priority: 10
    resources:
        gpu=RUNTIME["gpus"],
    log:
        "logs/finetune/{name}/seed{seed}.log",
    benchmark:
        "benchmarks/finetune/{name}/seed{seed}.tsv"
    shell:
        "OMP_NUM_THREADS={threads} vssl finetune {params.flags} --store {params.store} --out {params.out}"
        " --seed {wildcards.seed} --resume --on-change restart {params.runtime} > {log} 2>&1"


rule test:
    input:
        checkpoint="results/finetune/{name}/seed{seed}/final.pt",
        manifest=lambda wc: get_store_manifest(finetune_job(wc).store),
    output:
        metrics="results/finetune/{name}/seed{seed}/test/metrics.json",
        scores="results/finetune/{name}/seed{seed}/test/scores.csv",
    params:
        flags=lambda wc: vssl_plan.cli_flags(finetune_job(wc).test_settings),
        store=lambda wc: store_dir(finetune_job(wc).store),
        runtime=runtime_flags(),
    threads: RUNTIME["threads"]
    resources:
        gpu=RUNTIME["gpus"],
    log:
        "logs/test/{name}/seed{seed}.log",
    benchmark:
        "benchmarks/test/{name}/seed{seed}.tsv"
    shell:
        "OMP_NUM_THREADS={threads} vssl test --checkpoint {input.checkpoint} --store {params.store} {params.flags}"
        " --seed {wildcards.seed} --out $(dirname {output.metrics}) --no-progress {params.runtime} > {log} 2>&1"
