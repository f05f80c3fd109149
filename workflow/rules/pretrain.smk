# Pretraining: one job per (pretext variant, seed) of workflow/plan/. GPU jobs: `resources: gpu`.


rule pretrain:
    input:
        lambda wc: get_store_manifest(pretrain_job(wc).store),
    output:
        # selected.pt (best.pt with a hold-out, else final.pt) is what downstream jobs read.
        checkpoint="results/pretrain/{name}/seed{seed}/selected.pt",
        final="results/pretrain/{name}/seed{seed}/final.pt",
    log:
        "logs/pretrain/{name}/seed{seed}.log",
    benchmark:
        "benchmarks/pretrain/{name}/seed{seed}.tsv"
    # Most of the DAG waits on pretraining: start it first.
    priority: 20
    threads: RUNTIME["threads"]
    resources:
        gpu=RUNTIME["gpus"],
    params:
        command=lambda wc: pretrain_command(pretrain_job(wc)),
        store=lambda wc: store_dir(pretrain_job(wc).store),
        out=lambda wc, output: os.path.dirname(output.checkpoint),
        runtime=runtime_flags(train=True),
    shell:
        # --resume: a killed job continues from OUT/last.pt instead of starting over.
        "OMP_NUM_THREADS={threads} {params.command} --store {params.store:q} --out {params.out:q}"
        " --seed {wildcards.seed} --resume --on-change restart {params.runtime} > {log:q} 2>&1"
