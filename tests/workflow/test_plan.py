"""workflow/plan/: which jobs the DAG holds, derived from the config (no Snakemake, no torch)."""

from __future__ import annotations

import shlex

import pytest
import yaml
from plan_support import REPO, plan, workload_script
from plan_support import merge as _merge


@pytest.fixture(scope="module")
def default_config() -> dict:
    return yaml.safe_load((REPO / "config.yaml").read_text())


@pytest.fixture(scope="module")
def default_plan(default_config):
    return plan.build_plan(default_config)


@pytest.fixture(scope="module")
def paper_config(default_config) -> dict:
    return _merge(default_config, yaml.safe_load((REPO / "config" / "paper.yaml").read_text()))


def test_the_plan_and_the_report_read_one_catalogue() -> None:
    from vssl.report import claims, paper

    assert plan.CATALOGUE_PATH.resolve() == paper.catalogue_path().resolve()
    assert plan.EXPERIMENT_IDS == paper.EXPERIMENT_IDS
    assert plan.TABLE_IDS == paper.TABLE_IDS and plan.FIGURE_IDS == paper.FIGURE_IDS
    assert [c["id"] for c in plan.CLAIMS] == [c["id"] for c in claims.DEFAULT_CLAIMS]


def test_the_catalogue_follows_its_schema_and_names_known_ids() -> None:
    import jsonschema

    schema = yaml.safe_load((REPO / "workflow" / "schemas" / "experiments.schema.yaml").read_text())
    jsonschema.validate(plan.CATALOGUE, schema)
    plan.check_catalogue()
    broken = dict(plan.CATALOGUE, claims=[dict(plan.CLAIMS[0], experiment="rot-T99")])
    with pytest.raises(plan.PlanError, match="rot-T99"):
        plan.check_catalogue(broken)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(dict(plan.CATALOGUE, experiments={"rot-T1": {"paper": "3DRotNet"}}), schema)


def test_every_experiment_id_has_a_target(default_plan) -> None:
    for experiment_id in plan.TABLE_IDS:
        entries = default_plan.tables[experiment_id]
        assert entries, experiment_id
        assert all(path.startswith("results/") for *_, path in entries)
    assert set(default_plan.figures) == set(plan.FIGURE_IDS)
    assert all(spec.inputs for spec in default_plan.figures.values())
    assert {plan.rule_name(i) for i in plan.EXPERIMENT_IDS} >= {"rot_T3", "rot_8_360", "v3s_F5"}


def test_table_rows_and_columns_are_the_papers(default_plan) -> None:
    from vssl.report.paper import experiment

    for experiment_id, entries in default_plan.tables.items():
        exp = experiment(experiment_id)
        computed = {row.key for row in exp.rows if not row.cited}
        rows = {row for row, *_ in entries}
        assert rows <= computed, (experiment_id, rows - computed)
        assert {column for _, column, *_ in entries} <= set(exp.columns), experiment_id
    # Toy default: every computed row of every table except rot-T1/T2's "mit" (no MiT in the synthetic set).
    for experiment_id in plan.TABLE_IDS:
        exp = experiment(experiment_id)
        missing = {row.key for row in exp.rows if not row.cited} - {r for r, *_ in default_plan.tables[experiment_id]}
        assert missing <= {"mit"}, (experiment_id, missing)


def test_the_main_rotation_checkpoint_is_one_job_shared_by_many_tables(default_plan) -> None:
    main = [p for p in default_plan.pretrains.values() if p.name == "rotnet-kinetics-rotation-0-90-180-270-16rgb"]
    assert sorted(p.seed for p in main) == [0, 1, 2]
    checkpoint = main[0].checkpoint
    users = set()
    for experiment_id, entries in default_plan.tables.items():
        for *_, path in entries:
            for job in default_plan.finetunes.values():
                if job.test_metrics == path and job.init is not None and job.init.checkpoint == checkpoint:
                    users.add(experiment_id)
    assert {"rot-T2", "rot-T3", "rot-8/360", "rot-T4", "rot-T5", "rot-T6"} <= users
    figure_inputs = {f for spec in default_plan.figures.values() for f in spec.inputs}
    attention = [job for (kind, _), job in default_plan.evals.items() if kind == "attention"]
    assert any(checkpoint in job.inputs for job in attention)
    assert main[0].keep_every > 0 and default_plan.curve is not None
    assert "results/figures/data/rot-F4b_points.csv" in figure_inputs


def test_claim_seeds_follow_the_replicated_claims(default_config) -> None:
    def n_seeds(built, experiment_id, row):
        return len({path for r, _, _, path in built.tables[experiment_id] if r == row})

    default = plan.build_plan(default_config)
    # rot-T4/more-data is not replicated in the embedded default: its middle rows run one seed.
    assert "rot-T4/more-data" not in default_config["replicated_claims"]
    assert n_seeds(default, "rot-T4", "100k") == 2  # one seed x 2 datasets
    # S3D-G has no random baseline, so no replicated claim compares its V3S row.
    assert n_seeds(default, "v3s-T2", "s3dg/v3s") == 2 and n_seeds(default, "v3s-T2", "r3d/v3s") == 6
    everything = plan.build_plan(dict(default_config, replicated_claims=[c["id"] for c in plan.CLAIMS]))
    assert n_seeds(everything, "rot-T4", "100k") == 6
    frozen = [key for key in everything.finetunes if key[0].endswith("-C3")]  # rot-F4a ranks every row
    assert len(frozen) == 6 and len([key for key in default.finetunes if key[0].endswith("-C3")]) == 2
    with pytest.raises(plan.PlanError, match="replicated_claims.*'rot-T9/none'"):
        plan.build_plan(dict(default_config, replicated_claims=["rot-T9/none"]))


def test_rows_reusing_claim_runs_add_no_training_job(default_config, monkeypatch) -> None:
    """The catalogue's reuse_claim_runs rows show a replicated claim's seeds without training anything new."""
    with_reuse = plan.build_plan(default_config)
    monkeypatch.setitem(plan.CATALOGUE, "reuse_claim_runs", [])
    without = plan.build_plan(default_config)
    assert with_reuse.pretrains.keys() == without.pretrains.keys()
    assert with_reuse.finetunes.keys() == without.finetunes.keys()
    assert len(with_reuse.tables["v3s-T1"]) > len(without.tables["v3s-T1"])


def test_an_experiment_reads_the_dataset_its_catalogue_entry_names(default_config) -> None:
    config = dict(default_config, rotnet=dict(default_config["rotnet"], datasets={"HMDB51": "hmdb51"}))
    with pytest.raises(plan.PlanError, match="rotnet.datasets has no 'UCF101', which rot-T3 reads"):
        plan.build_plan(config, ["rot-T3"])
    retrieval = plan.build_plan(default_config, ["v3s-T5"])
    assert {job.settings["store"] for job in retrieval.evals.values()} == {"hmdb51"}


def test_claim_rows_get_claim_seeds_and_other_rows_one_seed(default_plan) -> None:
    def seeds(experiment_id, row):
        files = [path for r, _, _, path in default_plan.tables[experiment_id] if r == row]
        return len(files)

    assert seeds("rot-T3", "0,90") == 3 and seeds("rot-T3", "90,180,270") == 1
    assert seeds("rot-T2", "scratch") == 3 * 2  # 3 seeds x 2 datasets
    assert seeds("v3s-T1", "SS-2") == 1 and seeds("v3s-T1", "SS-1") == 3  # SS-1 is v3s-T3's SS
    assert seeds("rot-8/360", "8") == 1
    # rot-T7: one mean over the splits per seed and dataset
    assert seeds("rot-T7", "Fusion") == 3 * 2


def test_v3s_single_transform_rows_reuse_the_grid_runs(default_plan) -> None:
    t1 = {row: path for row, _, _, path in default_plan.tables["v3s-T1"]}
    t3 = {row: path for row, _, _, path in default_plan.tables["v3s-T3"]}
    for combo, grid in (("SS", "SS-1"), ("SP", "SP-3"), ("TS", "TS-2"), ("TP", "TP-3")):
        assert t3[combo] == t1[grid]
    # Table 2's R(2+1)D V3S run is Table 3's "V3S" run.
    t2 = {(row, col): path for row, col, _, path in default_plan.tables["v3s-T2"]}
    assert t2[("r21d/v3s", "UCF101")] == t3["V3S"]


def test_seeds_pair_pretraining_finetuning_and_few_shot_draws(default_plan) -> None:
    for job in default_plan.finetunes.values():
        if job.init is not None:
            assert job.init.seed == job.seed
        if "shots" in job.settings:
            assert job.settings["shots_seed"] == job.seed


def test_rotation_curve_uses_the_kept_step_series(default_config, default_plan) -> None:
    every = default_config["rotnet"]["curve"]["keep_every"]
    total = default_config["rotnet"]["pretrain"]["iterations"]
    steps = list(range(every, total + 1, every))
    curve_tests = [j for j in default_plan.finetunes.values() if j.init_step is not None]
    # The last step's checkpoint holds the final weights (no hold-out): that point is the main row's
    # finetune, not a second run of the same job.
    assert sorted({j.init_step for j in curve_tests}) == steps[:-1]
    assert all(j.init_file.endswith(f"checkpoints/step_{j.init_step:08d}.pt") for j in curve_tests)
    points = default_plan.curve.args
    main_row = [
        j
        for j in default_plan.finetunes.values()
        if j.name == "rotnet-kinetics-rotation-0-90-180-270-16rgb--ucf101-split1"
    ]
    assert main_row and all(f"--action {j.seed} {total} {j.test_metrics}" in points for j in main_row)
    bad = _merge(default_config, {"rotnet": {"curve": {"keep_every": total + 1}}})
    with pytest.raises(plan.PlanError, match="keep_every"):
        plan.build_plan(bad)


def test_unknown_target_lists_the_valid_ids(default_config) -> None:
    with pytest.raises(plan.PlanError, match="valid ids: all, rot-T1"):
        plan.selected_ids({**default_config, "targets": ["rot-T99"]})
    assert plan.selected_ids({**default_config, "targets": ["rot-T3"]}) == ["rot-T3"]


def test_cli_flags_round_trip_through_the_vssl_parsers() -> None:
    import argparse

    from vssl.train.config import PretrainConfig
    from vssl.train.runfile import add_config_arguments, build_config

    settings = {
        "clip_length": 16,
        "small_input": True,
        "hflip": False,
        "milestones": [10, 20],
        "split": None,
        "pretext": "v3s",
        "pretext_params": {"tp_patterns": [[1, 2], [2, 1]], "ss": False},
    }
    parser = argparse.ArgumentParser()
    add_config_arguments(parser, PretrainConfig)
    args = parser.parse_args(shlex.split(plan.cli_flags(settings)) + ["--store", "s", "--out", "o", "--epochs", "1"])
    config = build_config(PretrainConfig, args)
    assert config.clip_length == 16 and config.small_input is True and config.hflip is False
    assert config.milestones == [10, 20] and config.split is None
    assert config.pretext_params == {"tp_patterns": [[1, 2], [2, 1]], "ss": False}


def test_paper_config_plans_the_full_dag(paper_config) -> None:
    paper = plan.build_plan(paper_config)
    counts = paper.job_counts()
    assert counts["pretrain"] > 60 and counts["finetune"] >= 190
    rows = {row for row, *_ in paper.tables["rot-T1"]}
    assert rows == {"kinetics", "mit"}
    main = paper.pretrains[("rotnet-kinetics-rotation-0-90-180-270-16rgb", 0)]
    assert main.settings["iterations"] == 104000 and main.settings["model"] == "r3d_18"
    assert main.store == "kinetics_rot"
    r3d = paper.pretrains[("v3s-r3d-V3S", 0)]
    assert r3d.settings["lr"] == 0.005 and r3d.settings["holdout"] == 800


def test_schema_flag_lists_match_the_commands() -> None:
    """The config schema names every settable training flag, and only real ones."""
    import dataclasses

    from vssl.train.config import FinetuneConfig, PretrainConfig

    schema = yaml.safe_load((REPO / "workflow" / "schemas" / "config.schema.yaml").read_text())
    listed = set(schema["definitions"]["train_flags"]["propertyNames"]["enum"])
    fields = {f.name for cls in (PretrainConfig, FinetuneConfig) for f in dataclasses.fields(cls)}
    # Set by the workflow itself from the plan or `runtime`, never from a settings block.
    by_workflow = {
        "store",
        "out",
        "seed",
        "resume",
        "on_change",
        "log",
        "progress",
        "workers",
        "frame_cache_mb",
        "device",
        "gpus",
        "amp",
        "pretext",
        "max_videos",
        "data_seed",
        "init",
        "shots",
        "shots_seed",
    }
    assert listed <= fields, listed - fields
    assert fields - listed == by_workflow


def test_workload_counts_every_job_behind_a_table(paper_config) -> None:
    script = workload_script
    paper = plan.build_plan(paper_config)
    costs = plan.workload(paper, script.PAPER_VIDEOS)
    assert costs["_total"]["pretrain_jobs"] == len(paper.pretrains)
    assert costs["_total"]["finetune_jobs"] == len(paper.finetunes)
    # rot-T1 is two rotation pretrainings (Kinetics, MT) of 104k iterations x 32 inputs, seed 0 and more.
    per_run = 104_000 * 32
    assert costs["rot-T1"]["pretrain_inputs"] == per_run * costs["rot-T1"]["pretrain_jobs"]
    # rot-T7 reaches its finetunes through the fusion and split-mean jobs: 2 modalities x 3 splits x 2 datasets x seeds.
    assert costs["rot-T7"]["finetune_jobs"] == 2 * 3 * 2 * len(paper_config["claim_seeds"])
    table = script.markdown(costs, clips_per_s=1000)
    assert table.count("\n") == len(costs) + 1 and "| rot-T7 |" in table


def test_rotation_subset_batches_hold_whole_clips(default_plan) -> None:
    for job in default_plan.pretrains.values():
        if job.settings.get("pretext") == "rotation":
            copies = len(job.settings["pretext_params"]["angles"])
            assert job.settings["batch_size"] % copies == 0, job.name
    three = default_plan.pretrains[("rotnet-kinetics-rotation-0-90-180-16rgb", 0)]
    assert three.settings["batch_size"] == 30


@pytest.mark.parametrize("which", ["default", "paper"])
def test_every_downstream_job_reads_the_selected_pretraining_checkpoint(which, default_plan, paper_config) -> None:
    """V3S selects its best validation checkpoint; no job may read a pretraining run's final.pt instead."""
    built = default_plan if which == "default" else plan.build_plan(paper_config)
    assert any(p.settings.get("holdout") for p in built.pretrains.values())  # V3S runs hold videos out
    for job in built.finetunes.values():
        if job.init is not None and job.init_step is None:
            assert job.init_file == f"{job.init.dir}/selected.pt", job.name
    eval_inputs = [path for job in built.evals.values() for path in job.inputs]
    assert not [p for p in eval_inputs if p.startswith("results/pretrain/") and p.endswith("final.pt")]
    assert any(p.startswith("results/pretrain/v3s-") and p.endswith("/selected.pt") for p in eval_inputs)


def test_paper_pretraining_reads_the_papers_training_sets(paper_config) -> None:
    """3DRotNet: Kinetics-600 (and MiT), "the training set ... is used"; V3S K400: train, 3,000 held out."""
    built = plan.build_plan(paper_config)
    assert paper_config["stores"]["kinetics_rot"]["dataset"] == "kinetics600"
    assert paper_config["datasets"]["kinetics600"]["format"] == "kinetics"
    rot = [p for p in built.pretrains.values() if p.name.startswith("rotnet-")]
    assert rot and all((p.settings.get("split_column"), p.settings.get("split")) == ("split1", "train") for p in rot)
    k400 = [p for p in built.pretrains.values() if p.name.endswith("-k400")]
    assert k400 and all(p.settings["split"] == "train" and p.settings["holdout"] == 3000 for p in k400)


def test_default_pools_keep_every_video_as_a_named_option(default_plan) -> None:
    rot = [p for p in default_plan.pretrains.values() if p.name.startswith("rotnet-")]
    assert rot and all(p.settings.get("split") is None for p in rot)


def test_rot_F4a_plans_the_all_blocks_frozen_level(default_plan) -> None:
    """3DRotNet's worst case, "all the convolution blocks frozen": freeze_before 6, row C6, in the figure."""
    from vssl.report.paper import experiment

    frozen_all = [f for f in default_plan.finetunes.values() if f.settings.get("freeze_before") == 6]
    assert {f.store for f in frozen_all} == {"ucf101", "hmdb51"}
    assert "--entry C6 UCF101" in default_plan.figures["rot-F4a"].args
    assert experiment("rot-F4a").row_keys[-1] == "C6"


def test_paper_v3s_pretrains_from_frames_at_least_the_working_frame(paper_config) -> None:
    """V3S resizes to 224 before its 112 crop: every V3S pretraining store holds >= 224 px, never 128 x 171."""
    built = plan.build_plan(paper_config)
    v3s = [p for p in built.pretrains.values() if p.name.startswith("v3s-")]
    assert v3s and {p.store for p in v3s} == {"ucf101_256", "kinetics_256"}
    for p in v3s:
        frame = p.settings["pretext_params"]["frame_size"] if "pretext_params" in p.settings else 224
        assert min(paper_config["stores"][p.store]["size"]) >= frame >= 224


def test_paper_v3s_finetuning_does_not_flip(paper_config) -> None:
    """VCOP's train_classify.py (V3S's protocol) resizes and crops only; 3DRotNet's finetuning keeps the flip."""
    built = plan.build_plan(paper_config)
    v3s = [f for f in built.finetunes.values() if f.name.startswith("v3s-")]
    rot = [f for f in built.finetunes.values() if f.name.startswith("rotnet-")]
    assert v3s and all(f.settings.get("hflip") is False and "--no-hflip" in plan.cli_flags(f.settings) for f in v3s)
    assert rot and all(f.settings.get("hflip") is not False for f in rot)


def test_paper_r3d_stems_follow_each_paper(paper_config) -> None:
    """V3S's "R3D [25]" is Tran et al.'s (3x7x7 stem, no max-pool); 3DRotNet keeps Hara's 7x7x7 stem + max-pool."""
    built = plan.build_plan(paper_config)
    v3s_r3d = {p.settings["model"] for p in built.pretrains.values() if p.name.startswith("v3s-r3d-")}
    rot = {p.settings["model"] for p in built.pretrains.values() if p.name.startswith("rotnet-")}
    assert v3s_r3d == {"r3d_18_tran"} and rot == {"r3d_18"}


def test_paper_s3dg_trains_on_its_own_256_px_stores(paper_config, default_plan) -> None:
    """V3S's S3D-G: 256 x 256 frames cropped to 224 in pretraining and finetuning, 64-frame finetuning clips."""
    built = plan.build_plan(paper_config)
    s3dg = [p for p in built.pretrains.values() if p.name.startswith("v3s-s3dg-")]
    assert s3dg and all(
        p.store == "ucf101_256"
        and p.settings["crop"] == 224
        and p.settings.get("clip_length", 16) == 16
        and p.settings["pretext_params"]["frame_size"] == 256
        for p in s3dg
    )
    assert paper_config["stores"]["ucf101_256"]["size"] == [256, 256]
    others = [p for p in built.pretrains.values() if p.name.startswith("v3s-") and not p.name.startswith("v3s-s3dg-")]
    assert others and all(
        p.settings["crop"] == 112 and p.settings["pretext_params"]["frame_size"] == 224
        for p in others
        if p.store == "ucf101"
    )
    tuned = [f for f in built.finetunes.values() if f.name.startswith("v3s-s3dg-")]
    assert {f.store for f in tuned} == {"ucf101_256", "hmdb51_256"}
    assert all(
        f.settings["crop"] == 224 and f.settings["clip_length"] == 64 and f.settings["lr"] == 0.01 for f in tuned
    )
    assert all(
        f.store in ("ucf101", "hmdb51")
        for f in built.finetunes.values()
        if f.name.startswith("v3s-") and not f.name.startswith("v3s-s3dg-")
    )
    # The toy config keeps one store per dataset for every backbone.
    assert {p.store for p in default_plan.pretrains.values() if p.name.startswith("v3s-s3dg-")} == {"ucf101"}


def test_more_shots_than_a_class_has_stops_the_plan_naming_the_key_and_file(default_config, tmp_path) -> None:
    """rot-T5's shots are checked at parse time against the official split file, not inside the job."""
    import copy

    splits = tmp_path / "ucfTrainTestlist"
    splits.mkdir()
    lines = [f"Jump/v_Jump_g{g:02d}_c01.avi 1" for g in range(8, 11)]
    lines += [f"Run/v_Run_g{g:02d}_c0{c}.avi 2" for g in range(8, 26) for c in (1, 2)]
    (splits / "trainlist01.txt").write_text("\n".join(lines) + "\n")
    config = copy.deepcopy(default_config)
    config["datasets"]["ucf101"]["splits"] = str(splits)
    config["rotnet"]["shots"] = [1, 5]
    with pytest.raises(
        plan.PlanError, match=r"rotnet\.shots 5: class 'Jump' has only 3 training videos in split 1"
    ) as err:
        plan.build_plan(config)
    assert f"{splits / 'trainlist01.txt'}" in str(err.value) and "datasets.ucf101.splits" in str(err.value)
    config["rotnet"]["shots"] = [1, 3]
    assert any(f.settings.get("shots") == 3 for f in plan.build_plan(config).finetunes.values())


def test_hmdb51_train_counts_come_from_the_per_class_split_files(default_config, tmp_path) -> None:
    import copy

    (tmp_path / "brush_hair_test_split1.txt").write_text("a.avi 1 \nb.avi 2 \nc.avi 1 \nd.avi 0 \n")
    (tmp_path / "jump_test_split1.txt").write_text("e.avi 1 \n")
    config = copy.deepcopy(default_config)
    config["datasets"]["hmdb51"]["splits"] = str(tmp_path)
    counts, source = plan.train_videos_per_class(config, "hmdb51", 1)
    assert counts == {"brush_hair": 2, "jump": 1} and source == str(tmp_path)
    assert plan.train_videos_per_class(config, "hmdb51", 2) is None  # no split-2 files


def test_v3s_parameter_sets_are_config_keys(default_config) -> None:
    """V3S Table 1's sets (v3s.grids) and the chosen ones (v3s.chosen) reach the pretext flags of every row."""
    import copy

    config = copy.deepcopy(default_config)
    config["v3s"]["grids"]["SP-3"] = [0.8, 0.6, 0.4]
    config["v3s"]["pretext"]["antialias"] = False
    built = plan.build_plan(config)
    sp3 = built.pretrains[("v3s-r21d-SP-3", 0)].settings["pretext_params"]
    assert sp3["sp_factors"] == [0.8, 0.6, 0.4] and sp3["sp"] and not sp3["ss"]
    full = built.pretrains[("v3s-r21d-V3S", 0)]
    assert full.settings["pretext_params"]["sp_factors"] == [0.8, 0.6, 0.4]
    assert "--pretext-params antialias=false" in plan.cli_flags(full.settings)
    config["v3s"]["chosen"]["sp"] = "SP-1"
    full = plan.build_plan(config).pretrains[("v3s-r21d-V3S", 0)]
    assert full.settings["pretext_params"]["sp_factors"] == config["v3s"]["grids"]["SP-1"]


def test_rot_F3_and_F5_compare_with_a_supervised_kinetics_model_in_the_paper_config(paper_config, default_plan):
    """3DRotNet Figs. 3 and 5: "the supervised 3DConvNet ... trained on the Kinetics dataset"."""
    built = plan.build_plan(paper_config)
    supervised = [f for f in built.finetunes.values() if f.name.startswith("rotnet-supervised-")]
    assert [(f.store, f.init) for f in supervised] == [("kinetics_rot", None)]
    job = supervised[0]
    assert (job.settings["split_column"], job.settings["split"], job.settings["model"]) == ("split1", "train", "r3d_18")
    assert job.test_settings["split"] == "test"  # Kinetics' validation set (the adapter's split1 == test)
    for eid in ("rot-F3", "rot-F5"):
        (attention,) = [e for e in built.evals.values() if e.kind == "attention" and e.key == eid]
        assert job.checkpoint in attention.inputs and "--label 'supervised (Kinetics)'" in attention.args
    # The toy config has no labelled Kinetics test split: the UCF101 scratch run, labelled so.
    (toy,) = [e for e in default_plan.evals.values() if e.kind == "attention" and e.key == "rot-F3"]
    assert "--label 'supervised (UCF101 from scratch)'" in toy.args
    assert not any(f.name.startswith("rotnet-supervised-") for f in default_plan.finetunes.values())


def test_every_experiment_id_has_one_registered_builder() -> None:
    """Builders are registered by decorator, as torchvision's register_model; a second registration raises."""
    assert sorted(plan.BUILDERS) == sorted(plan.EXPERIMENT_IDS)
    with pytest.raises(plan.PlanError, match="registered twice"):
        plan.experiment("rot-T1")(lambda builder, eid: None)
    assert plan.BUILDERS["rot-T1"].__name__ == "_rot_T1"


def test_the_suite_trains_every_pretext_with_one_recipe(default_config, default_plan) -> None:
    suite = {key: job for key, job in default_plan.pretrains.items() if key[0].startswith("suite-")}
    assert {job.settings["pretext"] for job in suite.values()} == {"rotation", "v3s", "vcop", "pace", "contrastive"}
    protocol = {"pretext", "pretext_params", "batch_size"}
    recipes = [{k: v for k, v in job.settings.items() if k not in protocol} for job in suite.values()]
    assert all(recipe == recipes[0] for recipe in recipes)  # same backbone, store, schedule, steps
    assert recipes[0]["model"] == default_config["rotnet"]["pretrain"]["model"]
    assert recipes[0]["lr"] == default_config["suite"]["pretrain"]["lr"]
    assert {job.store for job in suite.values()} == {default_config["suite"]["protocols"][0]["store"]}
    assert default_plan.pretrains[("suite-kinetics-vcop", 0)].settings["batch_size"] == 30


def test_suite_T1_fills_every_cell_and_its_scratch_row_is_the_3drotnet_scratch_run(default_plan) -> None:
    from vssl.report.paper import experiment

    entries = default_plan.tables["suite-T1"]
    cells = {(row, column) for row, column, _, _ in entries}
    exp = experiment("suite-T1")
    assert cells == {(row.key, column) for row in exp.rows if not row.cited for column in exp.columns}
    scratch = {column: path for row, column, _, path in entries if row == "scratch"}
    rot_t2 = {path for row, _, _, path in default_plan.tables["rot-T2"] if row == "scratch"}
    rot_t5 = {path for row, column, _, path in default_plan.tables["rot-T5"] if column == "scratch"}
    assert scratch["UCF101"] in rot_t2 and scratch["UCF101 5-shot"] in rot_t5
    assert "--random-init" in default_plan.evals[("frozen", "suite-random-init/seed0/ucf101")].args


def test_the_paper_suite_runs_each_protocol_and_averages_three_splits(paper_config) -> None:
    """Issue 13: R3D-18 and R(2+1)D-10, each pretrained on the Kinetics pool and on UCF101 split-1 train."""
    built = plan.build_plan(paper_config)
    suite = {key[0]: job for key, job in built.pretrains.items() if key[0].startswith("suite-")}
    for protocol in paper_config["suite"]["protocols"]:
        jobs = [job for name, job in suite.items() if name.startswith(f"suite-{protocol['name']}-")]
        assert {job.settings["pretext"] for job in jobs} == {"rotation", "v3s", "vcop", "pace", "contrastive"}
        assert {job.store for job in jobs} == {protocol["store"]}
        model = protocol["backbone"] or {"model": paper_config["rotnet"]["pretrain"]["model"]}
        assert {job.settings["model"] for job in jobs} == {model["model"]}
    assert suite["suite-r21d10-ucf101-vcop"].settings["split_column"] == "split1"
    # One row per pretext and protocol; the first protocol keeps the bare row names.
    entries = built.tables["suite-T1"]
    rows = {row for row, *_ in entries}
    assert {"vcop", "vcop@r21d10-ucf101", "vcop@r3d18-ucf101", "scratch", "scratch@r21d10-kinetics"} <= rows
    assert len(rows) == 6 + 5 * 3 + 1  # scratch once per backbone
    # The finetune column is the mean over three splits, one finetune per split.
    (path,) = [p for row, column, _, p in entries if (row, column) == ("vcop@r21d10-ucf101", "UCF101")]
    (mean,) = [e for e in built.evals.values() if e.metrics == path]
    assert mean.kind == "mean" and "--metric top1_video" in mean.args
    assert [p.split("--")[1].split("/")[0] for p in mean.inputs] == [f"ucf101_rot-split{s}" for s in (1, 2, 3)]
    # A scratch R(2+1)D-10 finetune exists, named by its backbone.
    scratch = [f for f in built.finetunes.values() if f.name.startswith("rotnet-scratch-r21d_10-w1.0-")]
    assert scratch and all(f.init is None and f.settings["model"] == "r21d_10" for f in scratch)


def test_suite_protocol_names_are_unique(default_config) -> None:
    protocol = default_config["suite"]["protocols"][0]
    twice = _merge(default_config, {"suite": {"protocols": [protocol, dict(protocol)]}})
    with pytest.raises(plan.PlanError, match="suite.protocols"):
        plan.build_plan(twice)


def test_suite_F1_plots_each_pretext_against_its_own_accuracy(default_config, default_plan) -> None:
    def pretext_evals(built):
        return [job for job in built.evals.values() if job.kind == "pretext"]

    spec = default_plan.figures["suite-F1"]
    # The embedded default does not replicate suite-F1/pretext>chance (budget): one seed per pretext.
    assert "suite-F1/pretext>chance" not in default_config["replicated_claims"]
    assert len(pretext_evals(default_plan)) == 5
    assert all(job.settings["store"] == "ucf101" and job.metrics in spec.inputs for job in pretext_evals(default_plan))
    assert "--entry scratch pretext" not in spec.args and "--entry vcop chance 'chance*100'" in spec.args
    # Replicated, each pretext row's own accuracy runs over claim_seeds ...
    claims = [*default_config["replicated_claims"], "suite-F1/pretext>chance"]
    replicated = plan.build_plan(dict(default_config, replicated_claims=claims))
    assert {job.settings["seed"] for job in pretext_evals(replicated)} == {0, 1, 2}
    assert len(pretext_evals(replicated)) == 15 and len(replicated.pretrains) == len(default_plan.pretrains) + 10
    # ... while the finetune points stay at `seeds` (the claim compares no finetune).
    suite_finetunes = [p for p in replicated.figures["suite-F1"].inputs if "suite-" in p and "finetune" in p]
    assert suite_finetunes and all("/seed0/" in p for p in suite_finetunes)
    assert len(replicated.finetunes) == len(default_plan.finetunes)


def test_suite_T1_shows_the_cited_rows_its_config_names(default_config, paper_config) -> None:
    assert plan.table_args(plan.build_plan(default_config), "suite-T1").endswith(" --cited-rows")
    paper_args = plan.table_args(plan.build_plan(paper_config), "suite-T1")
    cited = "scratch-3drotnet rotation-3drotnet vcp-r21d10-ucf101 prp-r21d10-ucf101 pacepred-r21d10-ucf101"
    assert paper_args.endswith(f" --cited-rows {cited}")
    assert "--cited-rows" not in plan.table_args(plan.build_plan(default_config), "rot-T7")  # every cited row
    wrong = _merge(default_config, {"suite": {"cited_rows": ["vcop-xu"]}})
    with pytest.raises(plan.PlanError, match="suite.cited_rows: 'vcop-xu' not a cited row of suite-T1"):
        plan.build_plan(wrong)
