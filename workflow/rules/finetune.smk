# Finetuning and, in the same process, the video-level test (10 clips per video) of the final model:
# one job per finetuned model, because a second process per test would pay the start-up again.


rule finetune:
    input:
        finetune_input,
    output:
        checkpoint="results/finetune/{name}/seed{seed}/final.pt",
        metrics="results/finetune/{name}/seed{seed}/test/metrics.json",
        scores="results/finetune/{name}/seed{seed}/test/scores.csv",
    log:
        "logs/finetune/{name}/seed{seed}.log",
    benchmark:
        "benchmarks/finetune/{name}/seed{seed}.tsv"
    priority: 10
    threads: RUNTIME["threads"]
    resources:
        gpu=RUNTIME["gpus"],
    params:
        flags=lambda wc: finetune_flags(finetune_job(wc)),
        test=lambda wc: test_flags(finetune_job(wc)),
        store=lambda wc: store_dir(finetune_job(wc).store),
        out=lambda wc, output: os.path.dirname(output.checkpoint),
        test_out=lambda wc, output: os.path.dirname(output.metrics),
        runtime=runtime_flags(train=True),
    shell:
        "OMP_NUM_THREADS={threads} vssl finetune {params.flags} --store {params.store:q} --out {params.out:q}"
        " --seed {wildcards.seed} --resume --on-change restart {params.runtime}"
        " --test-out {params.test_out:q} {params.test} > {log:q} 2>&1"
