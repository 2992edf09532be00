"""`foley train cavp|vae|base|temporal|semantic|detector|assemble`: train the model stage by stage.

    foley train cavp     --config small --data DATA --out runs/cavp
    foley train vae      --config small --data DATA --out runs/vae
    foley train base     --config small --data DATA --out runs/base --cavp runs/cavp --vae runs/vae
    foley train temporal --config small --data DATA --out runs/temporal --cavp runs/cavp --vae runs/vae --base runs/base
    foley train semantic --config small --data DATA --out runs/semantic --cavp runs/cavp --vae runs/vae --base runs/base
    foley train detector --config small --data DATA --out runs/detector
    foley train assemble --config small --cavp runs/cavp --vae runs/vae --base runs/base
                         --temporal runs/temporal --semantic runs/semantic --detector runs/detector -o MODEL

Or train only the temporal adapter, on any saved pipeline such as converted
Diff-Foley (`foley convert diff-foley -o models/diff-foley`), and put it in:

    foley train temporal --config small --data DATA --out runs/temporal --pretrained models/diff-foley
    foley train assemble --pretrained models/diff-foley --temporal runs/temporal -o MODEL

`--pretrained DIR` replaces `--cavp/--vae/--base`: the VAE (with DIR's mel
layout and latent scale), video tower, UNet, projector and scheduler are
DIR's, audio-only clips are encoded by `DIR/audio_encoder` (without one only
paired clips train) and the config's `[model]` is not used.

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
from .assemble import assemble, assemble_pretrained, folder_megabytes
from .checkpoint import seed_everything
from .config import TrainingConfig, load_config, resolve_config_path
from .loop import Stage, train

STAGES = ("cavp", "vae", "base", "temporal", "semantic", "detector")
# The trained stages each stage reads, as command-line options.
INPUTS = {
    "cavp": (),
    "vae": (),
    "base": ("cavp", "vae"),
    "temporal": ("cavp", "vae", "base"),
    "semantic": ("cavp", "vae", "base"),
    "detector": (),
}
# The commands that may read a saved pipeline (--pretrained DIR) instead of these stage folders.
PRETRAINED = {"temporal": ("cavp", "vae", "base"), "semantic": ("cavp", "vae", "base"), "assemble": ("cavp", "vae", "base")}
# Stages assemble may leave out: the pipeline then carries an untrained copy (or none) in their place.
OPTIONAL_IN_ASSEMBLY = ("semantic", "detector")
PRETRAINED_HELP = "a saved pipeline folder (e.g. `foley convert diff-foley`'s) to use instead of --cavp/--vae/--base"


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
            command.add_argument(
                f"--{name}", type=Path, required=stage not in PRETRAINED, help=f"the trained {name} stage's folder"
            )
        if stage in PRETRAINED:
            command.add_argument("--pretrained", type=Path, metavar="DIR", help=PRETRAINED_HELP)
    command = commands.add_parser("assemble", help="write the complete pipeline from the trained stages")
    command.add_argument(
        "--config", default="small", help="configuration file (for the model name and seed; unused with --pretrained)"
    )
    for name in STAGES:
        optional = " (optional)" if name in OPTIONAL_IN_ASSEMBLY else ""
        command.add_argument(
            f"--{name}", type=Path, required=name == "temporal", help=f"the trained {name} stage's folder{optional}"
        )
    command.add_argument("--pretrained", type=Path, metavar="DIR", help=PRETRAINED_HELP)
    command.add_argument("-o", "--out", type=Path, required=True, help="the pipeline folder to write")
    return parser


def _base_form_problem(args: argparse.Namespace) -> str | None:
    """What is wrong with how the command was given its base, or None.

    A command of PRETRAINED takes either `--pretrained` or every one of its
    stage folders, never both: mixing them would leave unclear whose VAE,
    towers or UNet it uses.
    """
    folders = PRETRAINED.get(args.stage)
    if folders is None:
        return None
    options = ", ".join(f"--{name}" for name in folders[:-1]) + f" and --{folders[-1]}"
    given = [f"--{name}" for name in folders if getattr(args, name) is not None]
    if args.pretrained is not None and given:
        return f"--pretrained replaces {options}: give one or the other, not both (got {' '.join(given)} too)"
    if args.pretrained is None and len(given) < len(folders):
        missing = " ".join(f"--{name}" for name in folders if getattr(args, name) is None)
        return f"give either --pretrained DIR (a saved pipeline) or all of {options} (missing: {missing})"
    return None


def _inputs(args: argparse.Namespace) -> dict[str, Path]:
    """The folders a training stage reads, by option name."""
    names = ("pretrained",) if getattr(args, "pretrained", None) is not None else INPUTS[args.stage]
    return {name: getattr(args, name) for name in names}


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
    if args.stage == "detector":
        from .detector import DetectorStage

        return DetectorStage(config, args.data, args.out, device)
    from .frozen_parts import pipeline_base, pipeline_encoders, stage_base, stage_encoders

    if args.stage == "base":
        from .base import BaseStage

        return BaseStage(config, args.data, args.out, stage_encoders(args.cavp, args.vae, device), device)
    from .semantic import SemanticStage
    from .temporal import TemporalStage

    if args.pretrained is not None:
        encoders, base = pipeline_encoders(args.pretrained, device), pipeline_base(args.pretrained, device)
    else:
        encoders, base = stage_encoders(args.cavp, args.vae, device), stage_base(args.base, device)
    adapter_stage = SemanticStage if args.stage == "semantic" else TemporalStage
    return adapter_stage(config, args.data, args.out, encoders, base, device)


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
        "inputs": {name: str(folder.resolve()) for name, folder in _inputs(args).items()},
        "device": args.device,
        "threads": torch.get_num_threads(),
    }
    result = train(stage, args.out, config.seed, resume=args.resume, manifest=manifest)
    print(f"{args.stage}: {result.seconds_per_step:.3f} s per training step")


def _run_assemble(args: argparse.Namespace) -> None:
    if args.pretrained is not None:
        pipeline = assemble_pretrained(args.pretrained, args.temporal, args.out, args.semantic, args.detector)
    else:
        pipeline = assemble(
            load_config(args.config),
            args.cavp,
            args.vae,
            args.base,
            args.temporal,
            args.out,
            args.semantic,
            args.detector,
        )
    print(
        f"pipeline {pipeline.config.model_name!r} written to {args.out} "
        f"({folder_megabytes(args.out):.1f} MB); load it with FoleyEngine.load({str(args.out)!r})"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (argparse exits with 2 on a usage error)."""
    parser = _parser()
    args = parser.parse_args(argv)
    problem = _base_form_problem(args)
    if problem is not None:
        parser.error(f"{args.stage}: {problem}")
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
