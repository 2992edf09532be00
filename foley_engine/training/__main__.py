"""`foley train cavp|vae|base|temporal|assemble`: train the model stage by stage.

    foley train cavp     --config small --data DATA --out runs/cavp
    foley train vae      --config small --data DATA --out runs/vae
    foley train base     --config small --data DATA --out runs/base --cavp runs/cavp --vae runs/vae
    foley train temporal --config small --data DATA --out runs/temporal --cavp runs/cavp --vae runs/vae --base runs/base
    foley train assemble --config small --cavp runs/cavp --vae runs/vae --base runs/base
                         --temporal runs/temporal -o MODEL

Every training stage writes `loss.jsonl`, `checkpoint.pt` (every
`checkpoint_every` steps and at the end; `--resume` continues it),
`stage.json` and its components in diffusers layout.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Sequence
from pathlib import Path

import torch

from ..errors import FoleyError
from .assemble import assemble, folder_megabytes
from .checkpoint import seed_everything
from .config import TrainingConfig, load_config, resolve_config_path
from .loop import Stage, train

STAGES = ("cavp", "vae", "base", "temporal")
# The trained stages each stage reads, as command-line options.
INPUTS = {"cavp": (), "vae": (), "base": ("cavp", "vae"), "temporal": ("cavp", "vae", "base")}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="foley train", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="stage", required=True)
    for stage in STAGES:
        command = commands.add_parser(stage, help=f"train the {stage} stage")
        command.add_argument(
            "--config", default="small", help="configuration file, or a bundled one's name (default small)"
        )
        command.add_argument("--data", type=Path, required=True, help="dataset folder (`foley data build --out`)")
        command.add_argument("--out", type=Path, required=True, help="this stage's output folder")
        command.add_argument("--resume", action="store_true", help="continue the checkpoint in --out if there is one")
        command.add_argument("--max-steps", type=int, help="train this many steps in all instead of the config's")
        command.add_argument("--device", default="cpu", help="torch device (default cpu)")
        command.add_argument("--threads", type=int, help="CPU threads torch may use (default: torch's choice)")
        for name in INPUTS[stage]:
            command.add_argument(f"--{name}", type=Path, required=True, help=f"the trained {name} stage's folder")
    command = commands.add_parser("assemble", help="write the complete pipeline from the trained stages")
    command.add_argument("--config", default="small", help="configuration file (for the model name and seed)")
    for name in STAGES:
        command.add_argument(f"--{name}", type=Path, required=True, help=f"the trained {name} stage's folder")
    command.add_argument("-o", "--out", type=Path, required=True, help="the pipeline folder to write")
    return parser


def _with_steps(config: TrainingConfig, stage: str, steps: int | None) -> TrainingConfig:
    if steps is None:
        return config
    return dataclasses.replace(config, **{stage: dataclasses.replace(getattr(config, stage), steps=steps)})


def _build_stage(args: argparse.Namespace, config: TrainingConfig, device: torch.device) -> Stage:
    # Imported here so `foley train --help` stays quick.
    if args.stage == "cavp":
        from .cavp import CavpStage

        return CavpStage(config, args.data, device)
    if args.stage == "vae":
        from .vae import VaeStage

        return VaeStage(config, args.data, device)
    if args.stage == "base":
        from .base import BaseStage

        return BaseStage(config, args.data, args.out, args.cavp, args.vae, device)
    from .temporal import TemporalStage

    return TemporalStage(config, args.data, args.out, args.cavp, args.vae, args.base, device)


def _run_stage(args: argparse.Namespace) -> None:
    if args.threads:
        torch.set_num_threads(args.threads)
    config = _with_steps(load_config(args.config), args.stage, args.max_steps)
    seed_everything(config.seed)
    stage = _build_stage(args, config, torch.device(args.device))
    manifest = {
        "config_file": str(resolve_config_path(args.config)),
        "config": config.to_dict(),
        "data": str(args.data.resolve()),
        "inputs": {name: str(getattr(args, name).resolve()) for name in INPUTS[args.stage]},
        "device": args.device,
        "threads": torch.get_num_threads(),
    }
    result = train(stage, args.out, config.seed, resume=args.resume, manifest=manifest)
    print(f"{args.stage}: {result.seconds_per_step:.3f} s per training step")


def _run_assemble(args: argparse.Namespace) -> None:
    config = load_config(args.config)
    pipeline = assemble(config, args.cavp, args.vae, args.base, args.temporal, args.out)
    print(
        f"pipeline {pipeline.config.model_name!r} written to {args.out} "
        f"({folder_megabytes(args.out):.1f} MB); load it with FoleyEngine.load({str(args.out)!r})"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        if args.stage == "assemble":
            _run_assemble(args)
        else:
            _run_stage(args)
    except (FoleyError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
