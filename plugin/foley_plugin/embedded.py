"""The embedded engine: a child `foley-engine` process on a private Unix socket.

The plugin never imports the engine (it must stay free of torch); it starts it
as a separate Python process and talks to it like any other engine.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from .client import EngineClient, EngineError

READY_TIMEOUT_S = 300.0
STOP_TIMEOUT_S = 20.0


class EmbeddedEngine:
    """Context manager: starts the engine, waits for SERVING, stops it on exit."""

    def __init__(
        self,
        model_dir: Path | None = None,
        device: str = "cpu",
        media_roots: Sequence[Path] = (),
        python: str = sys.executable,
    ) -> None:
        self._folder = Path(tempfile.mkdtemp(prefix="foley-engine-"))
        self.socket = self._folder / "engine.sock"
        self.log_path = self._folder / "engine.log"
        self._command = [python, "-m", "foley_server.cli", "serve", "--socket", str(self.socket), "--device", device]
        if model_dir is not None:
            self._command += ["--model", str(model_dir)]
        for root in media_roots:
            self._command += ["--media-root", str(root)]
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"unix:{self.socket}"

    def __enter__(self) -> EmbeddedEngine:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        """Start the child and wait until its health check says SERVING."""
        with self.log_path.open("wb") as log:
            self._process = subprocess.Popen(
                self._command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
            )
        with EngineClient(self.address) as client:
            try:
                client.wait_serving(READY_TIMEOUT_S, alive=lambda: self._process.poll() is None)
            except EngineError:
                log_tail = self.log_tail()
                self.stop()
                raise EngineError(f"the embedded engine did not start. Its log ends with:\n{log_tail}") from None

    def exit_status(self, wait_s: float = 2.0) -> str | None:
        """How the child ended ("was killed by SIGKILL", "exited with code 1"), or None if it runs.

        Waits up to `wait_s` for it to end: a client may see the socket close
        a moment before the dying process can be reaped.
        """
        if self._process is None:
            return None
        try:
            code = self._process.wait(wait_s)
        except subprocess.TimeoutExpired:
            return None
        if code < 0:
            return f"was killed by {signal.Signals(-code).name}"
        return f"exited with code {code}"

    def log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        """SIGTERM the child, wait, kill it if it hangs, and remove the private folder."""
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None
        shutil.rmtree(self._folder, ignore_errors=True)
