"""A public URL for the listener: an ngrok HTTP tunnel opened with pyngrok.

pyngrok, left to itself, downloads ngrok when the binary is missing (printing "Downloading
ngrok" to stdout, then failing after a 6 s timeout here, where nothing can be downloaded),
prints ngrok's error lines through logging, and can wait forever on an agent that starts but
never says it is ready. So everything is checked first (binary, authtoken) and the start is
bounded; each failure is one ``TunnelError`` with a code and what to do.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..core.errors import ConfigError, NetworkError

if TYPE_CHECKING:
    from pyngrok.conf import PyngrokConfig
    from pyngrok.log import NgrokLog
    from pyngrok.ngrok import NgrokTunnel

STARTUP_TIMEOUT_SECONDS = 15.0
# Ends the agent if epay dies without closing the tunnel (kill -9, a crash): an orphaned agent
# would hold the account's agent session, and a free account has one. When this process dies,
# its children are handed to another parent at once, so a changed parent pid is the signal.
# A pidfd names the agent itself, so a pid the system has since given to another process is
# never signalled (without pidfds, Linux < 5.3 or not Linux, the pid is used).
_REAPER = """
import os, signal, sys, time
parent, agent = int(sys.argv[1]), int(sys.argv[2])
try:
    handle = os.pidfd_open(agent)
except AttributeError:
    handle = None
except OSError:
    sys.exit(0)  # the agent is gone already
while os.getppid() == parent:
    time.sleep(0.5)
try:
    if handle is None:
        os.kill(agent, signal.SIGTERM)
    else:
        signal.pidfd_send_signal(handle, signal.SIGTERM)
except OSError:
    pass
"""


class TunnelError(ConfigError):
    """The tunnel cannot be opened for a reason the user must fix (binary, authtoken)."""

    code = "tunnel_failed"


class TunnelDown(NetworkError):
    """The tunnel cannot be opened, or was lost, for a network reason."""

    code = "tunnel_down"


@dataclass
class Tunnel:
    """An open tunnel; ``close()`` disconnects it and ends the agent process."""

    public_url: str
    agent_pid: int | None
    _config: PyngrokConfig = field(repr=False)
    _closed: bool = False
    _reaper: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def agent_alive(self) -> bool:
        from pyngrok import process

        return process.is_process_running(self._config.ngrok_path)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._reaper is not None:  # a clean stop: the agent is ended here, not by it
            self._reaper.kill()
            self._reaper.wait()
        from pyngrok import ngrok, process

        try:
            if process.is_process_running(self._config.ngrok_path):
                ngrok.disconnect(self.public_url, pyngrok_config=self._config)
        except Exception:  # noqa: BLE001 - the agent is ended below whatever it answered
            pass
        ngrok.kill(pyngrok_config=self._config)  # terminates and waits for the agent


def agent_path(explicit: str | None, environ: Mapping[str, str]) -> str:
    """The ngrok binary: the given path, else ``PYNGROK_NGROK_PATH``, else pyngrok's default
    (``conf.get_default().ngrok_path``, under ngrok's config folder)."""
    if explicit:
        return str(Path(explicit).expanduser())
    if environ.get("PYNGROK_NGROK_PATH"):
        return str(Path(environ["PYNGROK_NGROK_PATH"]).expanduser())
    from pyngrok import conf

    return conf.get_default().ngrok_path


def open_tunnel(port: int, *, environ: Mapping[str, str], ngrok_path: str | None = None,
                authtoken: str | None = None, region: str | None = None,
                config_path: str | None = None,
                startup_timeout: float = STARTUP_TIMEOUT_SECONDS) -> Tunnel:
    """Open an HTTP tunnel to ``127.0.0.1:port``. The authtoken: ``authtoken``, else
    ``NGROK_AUTHTOKEN``, else the one in ngrok's own config file."""
    import logging

    logging.getLogger("pyngrok").addHandler(logging.NullHandler())
    logging.getLogger("pyngrok").propagate = False  # ngrok's log lines are not ours to print
    from pyngrok import conf, ngrok, process
    from pyngrok.exception import PyngrokError, PyngrokNgrokError

    path = agent_path(ngrok_path, environ)
    if not os.path.isfile(path):
        raise TunnelError("no ngrok agent at {path}",
                          "install ngrok and point PYNGROK_NGROK_PATH at it, or use another "
                          "tunnel and give its public URL", code="ngrok_missing",
                          fields={"path": path})
    if not os.access(path, os.X_OK):
        raise TunnelError("the ngrok agent {path} is not executable", "chmod +x {path}",
                          code="ngrok_not_executable", fields={"path": path})
    config_file = config_path or conf.get_default().config_path
    token = authtoken or environ.get("NGROK_AUTHTOKEN") or _config_authtoken(
        config_file or conf.DEFAULT_NGROK_CONFIG_PATH)
    if not token:
        raise TunnelError("ngrok needs an authtoken and none is set",
                          "set NGROK_AUTHTOKEN, or run 'ngrok config add-authtoken TOKEN' "
                          "(free at dashboard.ngrok.com)", code="ngrok_no_authtoken", fields={})
    errors: list[str] = []

    def remember(log: NgrokLog) -> None:
        if getattr(log, "lvl", "") in ("ERROR", "CRITICAL") and getattr(log, "err", None):
            errors.append(str(log.err))

    config = conf.PyngrokConfig(ngrok_path=path, config_path=config_file, auth_token=token,
                                region=region, startup_timeout=max(1, int(startup_timeout)),
                                log_event_callback=remember, request_timeout=5)
    opened: list[NgrokTunnel] = []
    failed: list[BaseException] = []

    def connect() -> None:
        try:
            opened.append(ngrok.connect(f"http://127.0.0.1:{port}", "http",
                                        pyngrok_config=config))
        except BaseException as error:  # noqa: BLE001 - handed to the waiting thread
            failed.append(error)

    worker = threading.Thread(target=connect, name="epay-ngrok-start", daemon=True)
    worker.start()
    worker.join(startup_timeout + 6)
    if worker.is_alive():
        # The agent started but never said it was ready: end it ourselves (pyngrok holds its
        # own lock while it waits, so its kill() would wait too).
        running = getattr(process, "_current_processes", {}).get(path)
        if running is not None:
            running.proc.kill()
        worker.join(5)
        if errors:
            raise TunnelDown("the ngrok agent did not open a tunnel within {seconds:g} s "
                             "({said})", "check the network (ngrok must reach its servers), or "
                             "use another tunnel and give its public URL", code="ngrok_timeout",
                             words="ngrok_timeout_said",
                             fields={"seconds": startup_timeout, "said": errors[-1]})
        raise TunnelDown("the ngrok agent did not open a tunnel within {seconds:g} s",
                         "check the network (ngrok must reach its servers), or use another "
                         "tunnel and give its public URL", code="ngrok_timeout",
                         fields={"seconds": startup_timeout})
    error = failed[0] if failed else None
    if error is not None:
        ngrok.kill(pyngrok_config=config)
        if isinstance(error, PyngrokNgrokError):
            raise _classify(getattr(error, "ngrok_error", None) or (errors[-1] if errors else "")
                            or str(error)) from None
        if isinstance(error, PyngrokError):
            raise TunnelError("ngrok failed: {reason}", "check ngrok's config file",
                              code="ngrok_failed", fields={"reason": _one_line(str(error))}
                              ) from None
        raise TunnelDown("ngrok failed ({kind}: {reason})", "run the ngrok agent by hand to see why",
                         code="ngrok_failed", words="ngrok_failed_error",
                         fields={"kind": type(error).__name__,
                                 "reason": _one_line(str(error))}) from None
    public_url = opened[0].public_url
    if not public_url:  # (pyngrok refuses such a tunnel itself today: its type allows one)
        ngrok.kill(pyngrok_config=config)
        raise _classify("it opened a tunnel without a public URL")
    running = process.get_process(config) if process.is_process_running(path) else None
    agent_pid = running.proc.pid if running else None
    return Tunnel(public_url, agent_pid, config,
                  _reaper=_reap_when_gone(agent_pid) if agent_pid else None)


def _reap_when_gone(agent_pid: int) -> subprocess.Popen[bytes] | None:
    """A small watcher that ends the agent once this process is gone (see ``_REAPER``)."""
    try:
        return subprocess.Popen(
            [sys.executable, "-I", "-S", "-c", _REAPER, str(os.getpid()), str(agent_pid)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True)  # Ctrl+C reaches epay, which ends the agent itself
    except OSError:
        return None  # no watcher: a clean stop still ends the agent


def _classify(message: str) -> Exception:
    text = _one_line(message)
    lowered = text.lower()
    if "authtoken" in lowered or "authentication" in lowered or "err_ngrok_105" in lowered \
            or "err_ngrok_4018" in lowered:
        return TunnelError("ngrok rejected the authtoken: {reason}",
                           "copy it again from dashboard.ngrok.com and set NGROK_AUTHTOKEN",
                           code="ngrok_authtoken_rejected", fields={"reason": text})
    if any(word in lowered for word in ("dial", "lookup", "resolve", "network", "connect",
                                        "timeout", "timed out")):
        return TunnelDown("ngrok cannot reach its servers: {reason}",
                          "check the network, or use another tunnel and give its public URL",
                          code="ngrok_unreachable", fields={"reason": text})
    return TunnelDown("the ngrok agent failed: {reason}", "run the ngrok agent by hand to see why",
                      code="ngrok_failed", words="ngrok_agent_failed", fields={"reason": text})


def _one_line(text: str, limit: int = 300) -> str:
    line = " ".join(str(text).replace("\\n", " ").split())  # logfmt escapes its newlines
    return line if len(line) <= limit else line[:limit] + "…"


def _config_authtoken(path: str | None) -> str | None:
    """The authtoken in ngrok's own config file (v2: top level; v3: under ``agent``)."""
    if not path or not os.path.isfile(path):
        return None
    try:
        import yaml  # type: ignore[import-untyped]  # (no types: what it read is checked below)

        with open(path, encoding="utf-8") as stream:
            document: object = yaml.safe_load(stream.read(1024 * 1024)) or {}
    except Exception:  # noqa: BLE001 - a broken file is ngrok's to report
        return None
    if not isinstance(document, dict):
        return None
    agent = document.get("agent")
    token = (agent.get("authtoken") if isinstance(agent, dict) else None) \
        or document.get("authtoken")
    return str(token) if token else None
