"""``SwitchSession``: one blocking SSH CLI session to one switch, errors as ``safecity.errors``.

Blocking on purpose (netmiko is); async callers run it with ``asyncio.to_thread`` and bound
their own concurrency. Every network step has a timeout from ``SwitchTarget.timeout``; every
failure is ``"<switch>: <operation>: <reason>"`` as ``DeviceUnreachable`` / ``DeviceTimeout`` /
``AuthFailed`` / ``DeviceRejected``. No netmiko or paramiko type leaves this module.
"""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Self

import paramiko
from netmiko.base_connection import BaseConnection
from netmiko.exceptions import (
    ConfigInvalidException,
    NetmikoAuthenticationException,
    NetmikoBaseException,
    NetmikoTimeoutException,
    ReadException,
    ReadTimeout,
)

from safecity.drivers.cli.connection_class import connection_class
from safecity.drivers.cli.platform import PlatformSpec, load_platform
from safecity.errors import (
    AuthFailed,
    DeviceError,
    DeviceRejected,
    DeviceTimeout,
    DeviceUnreachable,
)
from safecity.netguard import check_target

_INVALID = re.compile(r"Invalid input detected at command: (?P<cmd>.*?), matched error: (?P<err>.*)",
                      re.DOTALL)
_NEGOTIATION = re.compile(r"(?i)incompatible|no acceptable|no matching|negotiat")


@dataclass(frozen=True)
class SwitchTarget:
    """Where one switch is reached and how to sign in (resolved secrets; never logged)."""

    name: str
    platform: str  # a directory under device_templates/switches with a platform.yml
    host: str
    username: str
    password: str = field(repr=False)
    port: int = 22
    enable_secret: str | None = field(default=None, repr=False)  # None: the login password
    timeout: float = 20.0  # seconds: TCP connect, each read, and the whole login
    # "stock": the unmodified netmiko class for the device type (a benchmark baseline only).
    driver: Literal["safecity", "stock"] = "safecity"


class SwitchSession:
    """``with SwitchSession(target) as s: s.running_config()``; one SSH session per instance."""

    def __init__(self, target: SwitchTarget, *, platform_root: Path | None = None) -> None:
        self.target = target
        self.platform: PlatformSpec = load_platform(target.platform, platform_root)
        self._conn: BaseConnection | None = None

    # --- lifecycle ---------------------------------------------------------------------------
    def __enter__(self) -> Self:
        self.open()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def open(self) -> None:
        t, spec = self.target, self.platform
        params: dict[str, Any] = {
            "host": t.host, "port": t.port, "username": t.username, "password": t.password,
            "secret": t.enable_secret if t.enable_secret is not None else t.password,
            "conn_timeout": t.timeout, "banner_timeout": t.timeout, "auth_timeout": t.timeout,
            "blocking_timeout": t.timeout,
            "fast_cli": True, "use_keys": False, "allow_agent": False,
            "ssh_strict": False, "system_host_keys": False, "alt_host_keys": False,
            **spec.netmiko.options,
        }
        cls = connection_class(spec, stock=t.driver == "stock")
        with self._step("login"):
            check_target(t.name, "login", t.host)
            params["sock"] = socket.create_connection((t.host, t.port), timeout=t.timeout)
        # netmiko's login has loops of its own that ignore our timeouts (a switch answering
        # every prompt after 4 s took 36 s to fail); cutting the socket bounds the whole login.
        cut = threading.Event()

        def cut_login() -> None:
            cut.set()
            _shutdown(params["sock"], close=False)  # the login thread closes it

        watchdog = threading.Timer(t.timeout, cut_login)
        watchdog.daemon = True
        watchdog.start()
        try:
            with self._step("login"):
                conn = cls(**params)
                self._conn = conn
                if spec.enable:
                    conn.enable()
        except DeviceError as e:
            self.close()
            _shutdown(params["sock"])
            if cut.is_set():
                raise DeviceTimeout(t.name, "login",
                                    f"not logged in within {t.timeout:g} s") from e
            raise
        finally:
            watchdog.cancel()

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            conn.disconnect()
        except (OSError, EOFError, paramiko.SSHException, NetmikoBaseException):
            pass  # a dropped session has nothing left to close politely

    # --- operations --------------------------------------------------------------------------
    def show(self, command: str, operation: str = "show") -> str:
        conn = self._require(operation)
        with self._step(operation):
            out = conn.send_command(command, read_timeout=self.target.timeout)
        return out if isinstance(out, str) else str(out)

    def running_config(self) -> str:
        return self.show(self.platform.running_config_command, "read running-config")

    def saved_config(self) -> str:
        return self.show(self.platform.saved_config_command, "read saved-config")

    def mac_table_text(self) -> str:
        return self.show(self.platform.mac_table.command, "read MAC table")

    def push(self, lines: Sequence[str], operation: str = "push") -> str:
        """Send config lines; a line the switch refuses raises ``DeviceRejected`` naming it.

        Lines are pipelined: up to ``platform.push_window`` are in flight, and each one's echo
        is matched in order before its reply is checked against the error pattern (the
        per-command verification ``global_cmd_verify`` gives, without one round trip per line).
        A refused line may be followed by up to a window of lines the switch also received;
        callers roll back from a fresh read of the switch, not from the list.
        """
        if not lines:
            return ""
        conn = self._require(operation)
        spec = self.platform
        with self._step(operation):
            out = conn.config_mode(spec.config_enter)
            out += self._pipeline(conn, [line.strip() for line in lines], operation)
            # Leave config mode ourselves: the prompt may carry a new hostname by now.
            conn.write_channel(conn.normalize_cmd(spec.config_exit))
            out += conn.read_until_pattern(pattern=spec.netmiko.config_terminator,
                                           read_timeout=self.target.timeout)
            conn.set_base_prompt()
        return out

    def _pipeline(self, conn: BaseConnection, lines: list[str], operation: str) -> str:
        spec = self.platform
        error = re.compile(spec.error_pattern, re.MULTILINE)
        prompt_at_end = re.compile(f"(?:{spec.netmiko.config_terminator})\\s*$")
        window = max(1, spec.push_window)
        buf = ""
        sent = 0
        done = 0  # lines whose echo has been seen
        reply_from = 0  # where the reply of line done-1 starts in buf
        last_progress = time.monotonic()
        while True:
            while sent < len(lines) and sent - done < window:
                conn.write_channel(conn.normalize_cmd(lines[sent]))
                sent += 1
            chunk = conn.read_channel()
            if chunk:
                buf += chunk
                last_progress = time.monotonic()
            elif time.monotonic() - last_progress > self.target.timeout:
                raise DeviceTimeout(self.target.name, operation,
                                    f"no echo of {lines[done]!r} within {self.target.timeout:g} s"
                                    if done < len(lines) else
                                    f"no prompt after the last line within {self.target.timeout:g} s")
            else:
                time.sleep(0.002)
                continue
            while done < len(lines):
                at = buf.find(lines[done], reply_from)
                if at < 0:
                    break
                if done > 0:
                    self._check_reply(error, lines[done - 1], buf[reply_from:at], operation)
                reply_from = at + len(lines[done])
                done += 1
            if done == len(lines) and prompt_at_end.search(buf, reply_from):
                self._check_reply(error, lines[-1], buf[reply_from:], operation)
                return buf

    def _check_reply(self, error: re.Pattern[str], line: str, reply: str,
                     operation: str) -> None:
        found = error.search(reply)
        if found:
            raise DeviceRejected(self.target.name, operation,
                                 f"line {line!r} refused: {found.group(0).strip()}")

    def save(self) -> str:
        """Write running to startup, answering the platform's dialog; checks the success text."""
        conn = self._require("save")
        save = self.platform.save
        prompt = re.escape(conn.base_prompt)
        with self._step("save"):
            expect = "|".join([*(f"(?:{s.expect})" for s in save.dialog), prompt])
            out = str(conn.send_command(save.command, expect_string=expect, strip_prompt=False,
                                        strip_command=False, read_timeout=self.target.timeout))
            for step in save.dialog:
                if re.search(step.expect, out):
                    rest = "|".join([*(f"(?:{s.expect})" for s in save.dialog
                                       if s is not step), prompt])
                    out += str(conn.send_command(step.answer, expect_string=rest,
                                                 strip_prompt=False, strip_command=False,
                                                 read_timeout=self.target.timeout))
        if not re.search(save.success, out):
            raise DeviceRejected(self.target.name, "save",
                                 f"no success message after {save.command!r}: {_tail(out)}")
        return out

    # --- internals ---------------------------------------------------------------------------
    def _require(self, operation: str) -> BaseConnection:
        if self._conn is None:
            raise DeviceUnreachable(self.target.name, operation, "session is not open")
        return self._conn

    @contextmanager
    def _step(self, operation: str) -> Iterator[None]:
        """Translate netmiko/paramiko/socket failures of one step into safecity errors."""
        name, t = self.target.name, self.target
        try:
            yield
        except DeviceError:
            raise
        except NetmikoAuthenticationException as e:
            raise AuthFailed(name, operation, "the switch refused the credentials") from e
        except ConfigInvalidException as e:
            m = _INVALID.search(str(e))
            if m:
                reason = f"line {m.group('cmd').strip()!r} refused: {m.group('err').strip()}"
            else:
                reason = _tail(str(e))
            raise DeviceRejected(name, operation, reason) from e
        except ReadTimeout as e:
            raise DeviceTimeout(name, operation,
                                f"no prompt within {t.timeout:g} s") from e
        except NetmikoTimeoutException as e:
            text = str(e)
            if _NEGOTIATION.search(text):
                reason = ("SSH algorithm negotiation failed (a legacy-SSH-only switch needs "
                          "SHA-1 key exchange / ssh-rsa, which paramiko >= 5 no longer offers)")
            elif "TCP connection" in text:
                reason = f"no SSH service at {t.host}:{t.port} (refused or no route)"
            else:
                raise DeviceTimeout(name, operation, _tail(text)) from e
            raise DeviceUnreachable(name, operation, reason) from e
        except ConnectionRefusedError as e:
            raise DeviceUnreachable(name, operation,
                                    f"no SSH service at {t.host}:{t.port} (refused)") from e
        except TimeoutError as e:
            raise DeviceTimeout(name, operation, f"no answer within {t.timeout:g} s") from e
        except (EOFError, ReadException) as e:
            raise DeviceUnreachable(name, operation, f"session dropped: {_tail(str(e))}") from e
        except paramiko.SSHException as e:
            text = str(e)
            if _NEGOTIATION.search(text):
                raise DeviceUnreachable(name, operation, f"SSH negotiation failed: {text}") from e
            raise DeviceUnreachable(name, operation, f"session dropped: {_tail(text)}") from e
        except OSError as e:
            raise DeviceUnreachable(name, operation, f"session dropped: {e.strerror or e}") from e


def _shutdown(sock: socket.socket, *, close: bool = True) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # already closed
    if close:
        sock.close()


def _tail(text: str, limit: int = 200) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else "…" + flat[-limit:]
