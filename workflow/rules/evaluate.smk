# Evaluations of pretrained and finetuned models: rotation accuracy (rot-T1) and its curve over
# kept checkpoints (rot-F4b), fusion and split means (rot-T7), retrieval (v3s-T4/T5, suite-T1), ASLAN
# (v3s-T6), the suite's pretext accuracy and its retrieval + linear probe + k-NN on one feature
# extraction (suite-T1/F1), attention maps,
# Grad-CAM and kernels (figures), and the V3S transform illustration.
# Each job is one entry of PLAN.evals; its output directory is results/eval/<kind>/<key>/.


rule eval_rotation:
    input:
        eval_inputs("rotation"),
    output:
        "results/eval/rotation/{key}/metrics.json",
    log:
        "logs/eval/rotation/{key}.log",
    benchmark:
        "benchmarks/eval/rotation/{key}.tsv"
    threads: RUNTIME["threads"]
    resources:
        gpu=RUNTIME["gpus"],
    params:
        flags=lambda wc: eval_flags(eval_job("rotation", wc)),
        runtime=runtime_flags(),
    shell:
        'OMP_NUM_THREADS={threads} vssl eval-rotation {params.flags} --out "$(dirname {output:q})"'
        " --no-progress {params.runtime} > {log:q} 2>&1"


rule rotation_series:
    input:
        eval_inputs("curve"),
    output:
        metrics="results/eval/curve/{key}/metrics.json",
        table="results/eval/curve/{key}/rotation.csv",
    log:
        "logs/eval/curve/{key}.log",
    benchmark:
        "benchmarks/eval/curve/{key}.tsv"
    threads: RUNTIME["threads"]
    resources:
        gpu=RUNTIME["gpus"],
    params:
        flags=lambda wc: eval_flags(eval_job("curve", wc)),
        runtime=runtime_flags(),
    shell:
        'OMP_NUM_THREADS={threads} vssl eval-rotation {params.flags} --out "$(dirname {output.metrics:q})"'
        " --no-progress {params.runtime} > {log:q} 2>&1"


rule fuse:
    input:
        lambda wc: eval_job("fuse", wc).inputs,
    output:
        "results/eval/fuse/{key}/metrics.json",
    log:
        "logs/eval/fuse/{key}.log",
    benchmark:
        "benchmarks/eval/fuse/{key}.tsv"
    params:
        flags=lambda wc: eval_flags(eval_job("fuse", wc)),
    shell:
        'vssl fuse {params.flags} --out "$(dirname {output:q})" > {log:q} 2>&1'


rule mean_over_splits:
    input:
        lambda wc: eval_job("mean", wc).inputs,
    output:
        "results/eval/mean/{key}/metrics.json",
    log:
        "logs/eval/mean/{key}.log",
    params:
        flags=lambda wc: eval_flags(eval_job("mean", wc)),
    shell:
        "vssl average {params.flags} --out {output:q} > {log:q} 2>&1"


rule retrieve:
    input:
        eval_inputs("retrieval"),
    output:
        "results/eval/retrieval/{key}/metrics.json",
    log:
        "logs/eval/retrieval/{key}.log",
    benchmark:
        "benchmarks/eval/retrieval/{key}.tsv"
    threads: RUNTIME["threads"]
    resources:
        gpu=RUNTIME["gpus"],
    params:
        flags=lambda wc: eval_flags(eval_job("retrieval", wc)),
        runtime=runtime_flags(),
    shell:
        'OMP_NUM_THREADS={threads} vssl retrieve {params.flags} --out "$(dirname {output:q})"'
        " --no-progress {params.runtime} > {log:q} 2>&1"


rule frozen_eval:
    input:
        eval_inputs("frozen"),
    output:
        "results/eval/frozen/{key}/metrics.json",
    log:
        "logs/eval/frozen/{key}.log",
    benchmark:
        "benchmarks/eval/frozen/{key}.tsv"
    threads: RUNTIME["threads"]
    resources:
        gpu=RUNTIME["gpus"],
    params:
        flags=lambda wc: eval_flags(eval_job("frozen", wc)),
        runtime=runtime_flags(),
    shell:
        'OMP_NUM_THREADS={threads} vssl frozen-eval {params.flags} --out "$(dirname {output:q})"'
        " --no-progress {params.runtime} > {log:q} 2>&1"


rule eval_pretext:
    input:
        eval_inputs("pretext"),
    output:
        "results/eval/pretext/{key}/metrics.json",
    log:
        "logs/eval/pretext/{key}.log",
    benchmark:
        "benchmarks/eval/pretext/{key}.tsv"
    threads: RUNTIME["threads"]
    resources:
        gpu=RUNTIME["gpus"],
    params:
        flags=lambda wc: eval_flags(eval_job("pretext", wc)),
        runtime=runtime_flags(),
    shell:
        'OMP_NUM_THREADS={threads} vssl eval-pretext {params.flags} --out "$(dirname {output:q})"'
        " --no-progress {params.runtime} > {log:q} 2>&1"


rule aslan:
    input:
        models=eval_inputs("aslan"),
        pairs=synth_input_for(config["v3s"]["aslan"]["pairs"]),
    output:
        "results/eval/aslan/{key}/metrics.json",
    log:
        "logs/eval/aslan/{key}.log",
    benchmark:
        "benchmarks/eval/aslan/{key}.tsv"
    threads: RUNTIME["threads"]
    resources:
        gpu=RUNTIME["gpus"],
    params:
        flags=lambda wc: eval_flags(eval_job("aslan", wc)),
        runtime=runtime_flags(),
    shell:
        'OMP_NUM_THREADS={threads} vssl aslan {params.flags} --out "$(dirname {output:q})"'
        " --no-progress {params.runtime} > {log:q} 2>&1"


rule attention:
    input:
        eval_inputs("attention"),
    output:
        "results/eval/attention/{key}/metrics.json",
    log:
        "logs/eval/attention/{key}.log",
    benchmark:
        "benchmarks/eval/attention/{key}.tsv"
    threads: RUNTIME["threads"]
    params:
        flags=lambda wc: eval_flags(eval_job("attention", wc)),
        runtime=runtime_flags(workers=False),
    shell:
        'OMP_NUM_THREADS={threads} vssl attention {params.flags} --out "$(dirname {output:q})"'
        " --no-progress {params.runtime} > {log:q} 2>&1"


rule illustrate:
    input:
        eval_inputs("illustrate"),
    output:
        "results/eval/illustrate/{key}/transforms.npz",
    log:
        "logs/eval/illustrate/{key}.log",
    params:
        flags=lambda wc: eval_flags(eval_job("illustrate", wc)),
    shell:
        "vssl illustrate {params.flags} --out {output:q} > {log:q} 2>&1"
