"""Starts a local anvil node from the project's node_modules."""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from engine.chain.rpc import Rpc, RpcUnavailable

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEV_MNEMONIC = "test test test test test test test test test test test junk"


def anvil_binary() -> str:
    local = PROJECT_ROOT / "node_modules" / ".bin" / "anvil"
    if local.exists():
        return str(local)
    found = shutil.which("anvil")
    if found:
        return found
    raise FileNotFoundError(
        "anvil not found: `make setup` installs the linux-amd64 build with npm ci; "
        "on other platforms put Foundry's anvil on PATH"
    )


def _die_with_parent() -> None:
    """Linux: anvil gets SIGTERM if the process that started it dies, even by SIGKILL."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class AnvilNode:
    """An anvil process on 127.0.0.1; stops with :meth:`stop` or as a context manager."""

    def __init__(
        self, port: int = 0, block_time: float | None = None, log_path: str | None = None, state_path: str | None = None
    ):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        args = [anvil_binary(), "--host", "127.0.0.1", "--port", str(self.port), "--mnemonic", DEV_MNEMONIC]
        if block_time:
            args += ["--block-time", str(block_time)]
        if state_path:  # the chain, with its blocks, survives restarts (saved every 5 s and on exit)
            args += ["--state", state_path, "--state-interval", "5"]
        self._log = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115  (closed by stop())
        # A session of its own: a Ctrl-C in the terminal reaches orderchain, which stops the
        # engine first and then this node (it dies with its parent all the same).
        self.process = subprocess.Popen(
            args, stdout=self._log, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent, start_new_session=True
        )
        self._wait_ready()

    def _wait_ready(self, timeout: float = 20.0) -> None:
        rpc = Rpc(self.url, timeout=2)
        deadline = time.monotonic() + timeout
        try:
            while True:
                if self.process.poll() is not None:
                    raise RuntimeError(f"anvil exited with code {self.process.returncode} (port {self.port} taken?)")
                try:
                    rpc.chain_id()
                    return
                except RpcUnavailable:
                    if time.monotonic() > deadline:
                        self.stop()
                        raise RuntimeError(f"anvil did not answer on {self.url} within {timeout}s") from None
                    time.sleep(0.05)
        finally:
            rpc.close()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # anvil writes its state file on SIGINT
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if not isinstance(self._log, int):  # a file, not DEVNULL
            self._log.close()

    def __enter__(self) -> AnvilNode:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def deploy(rpc_url: str, deployments_dir: str = "deployments", extra: list[str] | None = None) -> Path:
    """Deploys with the ape script ``scripts/deploy.py``; returns the manifest path."""
    ape = shutil.which("ape") or str(PROJECT_ROOT / ".venv" / "bin" / "ape")
    env = dict(__import__("os").environ, APE_FOUNDRY_HOST=rpc_url)
    env.setdefault("SOLCX_BINARY_PATH", str(PROJECT_ROOT / ".venv" / "solcx"))
    cmd = [ape, "run", "deploy", "--network", "ethereum:local:foundry", "--out-dir", deployments_dir, *(extra or [])]
    result = subprocess.run(cmd, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"deployment failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    rpc = Rpc(rpc_url)
    try:
        return Path(deployments_dir) / f"{rpc.chain_id()}.json"
    finally:
        rpc.close()
