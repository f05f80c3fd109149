"""Training: pretraining and finetuning loops, checkpoints, DDP.

Modules (import what you need; this package imports nothing):

- `checkpoint`: integrity-checked, weights-only checkpoints; ``load_backbone``,
  ``load_classifier``, ``load_pretext_model`` for the evaluation layer;
- `config` / `runfile`: every knob as one dataclass field = flag = run-file key;
- `loop`: the shared step/epoch machinery (`run_training`, `train_step`);
- `pretrain` / `finetune`: the ``vssl pretrain`` / ``vssl finetune`` commands;
- `schedule`, `sgd`, `rng`, `selection`, `distributed`.

Device choice, GPU slots, seeding, logging and run provenance live in `vssl.runtime`,
which training and evaluation share.
"""
