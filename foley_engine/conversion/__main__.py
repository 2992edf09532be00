"""`foley convert SOURCE ...`: turn another project's checkpoints into a pipeline directory.

    foley convert diff-foley --ldm ldm_epoch240.ckpt --cavp cavp_epoch66.ckpt -o models/diff-foley
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import ModelError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="foley convert", description=__doc__.splitlines()[0])
    sources = parser.add_subparsers(dest="source", required=True)
    diff_foley = sources.add_parser(
        "diff-foley", help="Diff-Foley's LDM + CAVP checkpoints → a pipeline directory (foley-engine serve --model)"
    )
    diff_foley.add_argument("--ldm", type=Path, required=True, help="the LDM checkpoint (ldm_epoch240.ckpt)")
    diff_foley.add_argument("--cavp", type=Path, required=True, help="the CAVP checkpoint (cavp_epoch66.ckpt)")
    diff_foley.add_argument("-o", "--output", type=Path, required=True, help="pipeline directory to write")
    diff_foley.add_argument("--ema", action="store_true", help="take the UNet from the checkpoint's EMA weights")
    diff_foley.add_argument("--overwrite", action="store_true", help="replace an existing output directory")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the converter; 0 on success, 2 (with the reason on stderr) for bad input files."""
    args = _parser().parse_args(argv)
    # Imported here: `foley convert --help` should not wait for torch.
    from .diff_foley import convert_diff_foley

    try:
        output = convert_diff_foley(args.ldm, args.cavp, args.output, use_ema=args.ema, overwrite=args.overwrite)
    except (ModelError, FileExistsError) as error:
        print(f"foley convert: {error}", file=sys.stderr)
        return 2
    print(f"wrote {output}; serve it with: foley-engine serve --model {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
