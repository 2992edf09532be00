"""The model-side commands behind `foley data|train|eval|convert`.

`foley` (the plugin's CLI) runs `python -m foley_engine.cli COMMAND ...` as a
child process, so the editor side never imports torch. Each command lives in
its own module exposing `main(argv) -> int`, imported only when used.
"""

from __future__ import annotations

import importlib
import sys

COMMANDS = {
    "data": "foley_engine.data.__main__",
    "train": "foley_engine.training.__main__",
    "eval": "foley_engine.evaluation.__main__",
    "convert": "foley_engine.conversion.__main__",
}


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] not in COMMANDS:
        print(f"usage: foley {{{','.join(COMMANDS)}}} ...", file=sys.stderr)
        return 2
    module = importlib.import_module(COMMANDS[args[0]])
    return module.main(args[1:])


if __name__ == "__main__":
    sys.exit(main())
