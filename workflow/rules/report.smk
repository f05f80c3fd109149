# Tables, figures, the claims table, SUMMARY.md and the `snakemake --report` entries.
# One named target rule per experiment id (`snakemake rot_T3`, `snakemake rot_8_360`).


rule table:
    input:
        lambda wc: PLAN.table_inputs(table_id(wc)),
    output:
        csv="results/tables/{stem}.csv",
        md=report(
            "results/tables/{stem}.md",
            caption="../report/table.rst",
            category="Tables",
            labels=lambda wc: {"experiment": STEM_TO_ID[wc.stem]},
        ),
    log:
        "logs/report/table_{stem}.log",
    wildcard_constraints:
        stem="|".join(vssl_plan.file_stem(i) for i in vssl_plan.TABLE_IDS),
    params:
        id=table_id,
        entries=lambda wc: vssl_plan.table_args(PLAN, table_id(wc)),
    shell:
        'vssl table {params.id:q} {params.entries} --out-dir "$(dirname {output.csv:q})" > {log:q} 2>&1'


rule rotation_curve_points:
    input:
        lambda wc: PLAN.curve.inputs,
    output:
        "results/figures/data/rot-F4b_points.csv",
    log:
        "logs/report/rotation_curve_points.log",
    params:
        args=lambda wc: PLAN.curve.args,
    shell:
        "vssl curve {params.args} > {log:q} 2>&1"


rule figure:
    input:
        lambda wc: PLAN.figures[table_id(wc)].inputs,
    output:
        png=report(
            "results/figures/{stem}.png",
            caption="../report/figure.rst",
            category="Figures",
            labels=lambda wc: {"experiment": STEM_TO_ID[wc.stem]},
        ),
        pdf="results/figures/{stem}.pdf",
    log:
        "logs/report/figure_{stem}.log",
    wildcard_constraints:
        stem="|".join(vssl_plan.file_stem(i) for i in vssl_plan.FIGURE_IDS),
    params:
        id=table_id,
        args=lambda wc: PLAN.figures[table_id(wc)].args,
    shell:
        'vssl figure {params.id} {params.args} --out-dir "$(dirname {output.png:q})" > {log:q} 2>&1'


rule summary:
    input:
        [f for i in SELECTED_IDS for f in experiment_outputs(i)],
    output:
        summary=report("results/SUMMARY.md", caption="../report/summary.rst", category="Summary"),
        claims=report("results/tables/claims.md", caption="../report/claims.rst", category="Summary"),
    log:
        "logs/report/summary.log",
    params:
        replicated=vssl_plan.replicated_claims_args(config),
    shell:
        "vssl summary --tables-dir results/tables --figures-dir results/figures --out {output.summary:q}"
        " --claims-out {output.claims:q} {params.replicated} > {log:q} 2>&1"


for _experiment_id in vssl_plan.EXPERIMENT_IDS:

    rule:
        name:
            vssl_plan.rule_name(_experiment_id)
        default_target: False
        input:
            experiment_outputs(_experiment_id),
