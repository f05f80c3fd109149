"""`vssl frozen-eval`: retrieval, a linear probe and k-NN on one extraction of frozen features.

The three evaluations of suite-T1 read the same backbone over the same videos; run as three
commands they extract every feature three times. Here the train and test videos pass through the
backbone once, with two taps: ``--retrieval-tap`` (VCOP's conv5 max-pool, as `vssl retrieve`) and
``--tap`` (the last pooling layer, as `vssl linear-probe` and `vssl knn`). Each evaluation is the
function its own command runs (`vssl.eval.retrieval.retrieval_topk`, `vssl.eval.probe.linear_probe`,
`vssl.eval.knn.knn_accuracy`), so the numbers equal the separate commands' (a test holds them to it).
Retrieval queries are the test videos and the gallery the training videos (VCOP's protocol).

``metrics.json``: ``topk`` (retrieval recall at k, percent), ``probe`` (``top1``, ``top5``, ``C``),
``knn`` (``top1`` per k), all in percent, with the run metadata of every evaluation command.
"""

from __future__ import annotations

import argparse
import logging

log = logging.getLogger("vssl.eval")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from vssl.eval import features as F
    from vssl.eval.knn import VOTES
    from vssl.eval.retrieval import DEFAULT_KS

    F.add_train_test_arguments(parser)
    group = parser.add_argument_group("retrieval, probe and k-NN")
    group.add_argument("--retrieval-tap", default="conv5_maxpool", help="retrieval's feature tap (VCOP's)")
    group.add_argument("--ks", type=int, nargs="+", default=list(DEFAULT_KS), help="retrieval top-k values")
    group.add_argument(
        "--C", dest="c_values", type=float, nargs="+", default=[1.0], help="probe's inverse regularisation"
    )
    group.add_argument("--cv-folds", type=int, default=3, help="folds for choosing C among several")
    group.add_argument("--max-iter", type=int, default=2000, help="probe solver iterations")
    group.add_argument("--k", type=int, nargs="+", default=[20], help="k-NN neighbour counts")
    group.add_argument("--vote", choices=VOTES, default="majority", help="k-NN majority or similarity-weighted vote")
    group.add_argument("--temperature", type=float, default=0.07, help="temperature of the weighted vote")


def run(args: argparse.Namespace) -> int:
    from vssl.data.clips import EvenlySpaced
    from vssl.eval import features as F
    from vssl.eval.knn import knn_accuracy
    from vssl.eval.probe import linear_probe
    from vssl.eval.retrieval import retrieval_topk
    from vssl.runtime.context import command_context
    from vssl.utils.io import atomic_write_json

    with command_context(args, "frozen_eval") as ctx:
        backbone, source = F.load_backbone_source(args)
        transform = F.build_clip_transform(args, source)
        length = F.resolve_clip_length(args, source)
        sampler = EvenlySpaced(num_clips=args.num_clips, length=transform.frames_to_load(length))
        manifest = F.read_manifest(args.store, args.manifest)
        taps = tuple(dict.fromkeys((args.retrieval_tap, args.tap)))
        common = dict(sampler=sampler, clip_transform=transform, device=ctx.device, taps=taps)
        train, train_videos, train_y, train_excluded = F.split_features(
            args, backbone, manifest, args.train_split, **common
        )
        test, test_videos, test_y, test_excluded = F.split_features(args, backbone, manifest, args.test_split, **common)
        F.require_labels(train_y, train_videos, f"{args.train_split} split")
        F.require_labels(test_y, test_videos, f"{args.test_split} split")
        recall = retrieval_topk(test[args.retrieval_tap], test_y, train[args.retrieval_tap], train_y, args.ks)
        topk = {str(k): v for k, v in recall.items()}
        probe = linear_probe(
            train[args.tap],
            train_y,
            test[args.tap],
            test_y,
            c_values=args.c_values,
            cv_folds=args.cv_folds,
            max_iter=args.max_iter,
            seed=args.seed,
        )
        knn = knn_accuracy(
            train[args.tap], train_y, test[args.tap], test_y, args.k, method=args.vote, temperature=args.temperature
        )
        log.info("frozen-eval: retrieval %s, probe top-1 %.2f, k-NN %s", topk, probe["top1"], knn)
        metrics = F.run_metadata(
            "frozen-eval",
            args,
            [source],
            device=ctx.device,
            started=ctx.started,
            extra={
                "topk": topk,
                "probe": {key: probe[key] for key in ("top1", "top5", "C")},
                "knn": {"top1": {str(k): float(v) for k, v in knn.items()}, "vote": args.vote},
                "n_train": len(train_y),
                "n_test": len(test_y),
                "excluded_videos": train_excluded + test_excluded,
                "transform": vars(transform) | {"clip_length": length, "num_clips": args.num_clips},
            },
        )
        atomic_write_json(args.out / "metrics.json", metrics)
    return 0
