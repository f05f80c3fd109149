"""Training: pretraining and finetuning loops, checkpoints, GPU slots, DDP.

Modules (import what you need; this package imports nothing so that
`vssl.train.gpu_slots` can run before torch and CUDA are loaded):

- `checkpoint`: integrity-checked, weights-only checkpoints; ``load_backbone``,
  ``load_classifier``, ``load_pretext_model`` for the evaluation layer;
- `config` / `runfile`: every knob as one dataclass field = flag = run-file key;
- `loop`: the shared step/epoch machinery (`run_training`, `train_step`);
- `pretrain` / `finetune`: the ``vssl pretrain`` / ``vssl finetune`` commands;
- `schedule`, `rng`, `selection`, `device`, `distributed`, `gpu_slots`.
"""
