"""`foley-engine`: run the engine, or write a model directory."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from pathlib import Path

from foley_engine.errors import ModelError

from .app import AddressInUse, EngineServer
from .config import ConfigError, EngineConfig, Limits, listen_address

log = logging.getLogger("foley_server")

TOKEN_ENV = "FOLEY_ENGINE_TOKEN"
# `serve --max-...` options, one per request limit (--max-queue and --max-batch are declared apart).
LIMIT_HELP = {
    "max_clip_ms": "longest clip, in milliseconds",
    "max_cues": "most onset cues in one job",
    "max_spans": "most event spans in one job",
    "max_prompt_chars": "longest prompt, in characters",
    "max_upload_bytes": "largest uploaded video, in bytes",
    "max_steps": "most diffusion steps a job may ask for",
    "max_video_pixels": "largest video picture (width × height), read from the file's header",
    "max_video_frames": "most frames in a video (header count, or duration × frame rate)",
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="foley-engine", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the gRPC engine")
    where = serve.add_mutually_exclusive_group()
    where.add_argument("--socket", type=Path, help="Unix socket path (default: $XDG_RUNTIME_DIR or /tmp)")
    where.add_argument(
        "--listen",
        metavar="HOST:PORT",
        type=listen_address,
        help="TCP address, for example 127.0.0.1:50051 (a bare port means 127.0.0.1); "
        "any other interface needs a token",
    )
    serve.add_argument(
        "--token-file",
        type=Path,
        help=f"file holding the token every call must carry (default: ${TOKEN_ENV}, if set)",
    )
    serve.add_argument("--model", type=Path, help="pipeline directory (default: the bundled model)")
    serve.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    serve.add_argument(
        "--dtype", default="float32", choices=("float32", "float16", "bfloat16"), help="network precision (GPU: float16)"
    )
    serve.add_argument("--channels-last", action="store_true", help="channels-last memory for the convolutions (GPU)")
    serve.add_argument(
        "--media-root", type=Path, action="append", default=[], help="only read videos below this folder (repeatable)"
    )
    serve.add_argument(
        "--max-queue", type=_positive, default=Limits.max_queue, help=f"most jobs waiting to run ({Limits.max_queue})"
    )
    serve.add_argument(
        "--max-batch", type=_positive, help="compatible jobs run as one batch (default: 8 on a GPU, 1 on a CPU)"
    )
    for name, text in LIMIT_HELP.items():
        default = getattr(Limits, name)
        serve.add_argument(f"--{name.replace('_', '-')}", type=_positive, default=default, help=f"{text} ({default})")
    serve.add_argument(
        "--grace-s",
        type=float,
        default=EngineConfig.grace_s,
        help="on SIGTERM, seconds the running job may take to finish before it is cancelled (%(default)s)",
    )
    serve.add_argument("--log-level", default="INFO")

    save = commands.add_parser("save-untrained", help="write the small untrained pipeline to DIR")
    save.add_argument("directory", type=Path)
    return parser


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def default_socket() -> Path:
    """Where the engine listens when given no address."""
    runtime = os.environ.get("XDG_RUNTIME_DIR") or "/tmp"
    return Path(runtime) / f"foley-engine-{os.getuid()}.sock"


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "save-untrained":
        from foley_engine.engine import save_untrained

        save_untrained(args.directory)
        print(f"wrote an untrained pipeline to {args.directory}")
        return 0
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        config = _config(args)
    except (ConfigError, OSError) as error:
        print(f"foley-engine: {error}", file=sys.stderr)
        return 2
    if not config.media_roots:
        log.warning("no --media-root given: the engine will read any video file this user can read")
    try:
        asyncio.run(_serve(config))
    except (AddressInUse, ModelError) as error:
        print(f"foley-engine: {error}", file=sys.stderr)
        return 2
    return 0


def _config(args: argparse.Namespace) -> EngineConfig:
    """The engine's settings from `serve`'s arguments; ConfigError for settings it refuses."""
    limits = {name: getattr(args, name) for name in LIMIT_HELP}
    return EngineConfig(
        socket=None if args.listen else (args.socket or default_socket()),
        listen=args.listen,
        model_dir=args.model,
        device=args.device,
        dtype=args.dtype,
        channels_last=args.channels_last,
        media_roots=tuple(args.media_root),
        limits=Limits(max_queue=args.max_queue, max_batch=args.max_batch, **limits),
        token=_token(args.token_file),
        grace_s=args.grace_s,
    )


def _token(path: Path | None) -> str | None:
    """The token from `--token-file`, else from the environment; None when neither gives one."""
    if path is not None:
        try:
            token = path.read_text().strip()
        except OSError as error:
            raise ConfigError(f"cannot read the token file {path} ({error.strerror})") from None
        if not token:
            raise ConfigError(f"the token file {path} is empty")
        return token
    return os.environ.get(TOKEN_ENV) or None


async def _serve(config: EngineConfig) -> None:
    server = EngineServer(config)
    loop = asyncio.get_running_loop()
    stopping: list[asyncio.Task[None]] = []

    def request_stop() -> None:
        if not stopping:  # a second signal changes nothing: the grace period is already running
            stopping.append(asyncio.create_task(server.stop(config.grace_s)))

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, request_stop)
    try:
        await server.start()
    except BaseException:
        await server.server.stop(grace=None)
        server.uploads.close()
        if config.socket is not None and not isinstance(sys.exc_info()[1], AddressInUse):
            config.socket.unlink(missing_ok=True)
        raise
    await server.wait_closed()
    if stopping:
        await stopping[0]


if __name__ == "__main__":
    sys.exit(main())
