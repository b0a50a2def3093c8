"""asyncssh glue: one listener per switch, shared options, one small task per SSH session.

All switches share two option sets (modern, legacy) and one server factory; a connection finds
its switch by the local address it arrived on, so a listener costs one socket and no thread.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable

import asyncssh

from safecity.lab.switch.device import SwitchDevice
from safecity.lab.switch.host_keys import HostKeys
from safecity.lab.switch.session import CliSession
from safecity.lab.switch.terminal import Terminal

log = logging.getLogger(__name__)

DeviceLookup = Callable[[str, int], "SwitchDevice | None"]

# What an old S-series / Comware 5 switch offers: SHA-1 DH groups and ssh-rsa only.
LEGACY_KEX = ("diffie-hellman-group14-sha1", "diffie-hellman-group1-sha1")
LEGACY_HOST_KEY_ALGS = (b"ssh-rsa",)
LEGACY_CIPHERS = ("aes128-ctr", "aes256-ctr", "aes128-cbc", "aes256-cbc")
LEGACY_MACS = ("hmac-sha1",)
READ_CHUNK = 4096


class SwitchSSHServer(asyncssh.SSHServer):
    """Per-connection server object: finds its switch and checks the password."""

    def __init__(self, lookup: DeviceLookup) -> None:
        self._lookup = lookup
        self.device: SwitchDevice | None = None
        self._conn: asyncssh.SSHServerConnection | None = None

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        host, port = conn.get_extra_info("sockname")[:2]
        self._conn = conn
        self.device = self._lookup(host, port)
        if self.device is None or self.device.faults.offline:
            conn.abort()
            return
        self.device.connections.add(conn)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.device is not None and self._conn is not None:
            self.device.connections.discard(self._conn)

    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        return self.device is not None and self.device.check_login(username, password)


async def serve_session(process: asyncssh.SSHServerProcess[bytes]) -> None:
    """Run one interactive CLI session until quit, drop, EOF or error. Never raises."""
    conn = process.get_extra_info("connection")
    owner = conn.get_owner()
    device = owner.device if isinstance(owner, SwitchSSHServer) else None
    if device is None:
        process.exit(1)
        return
    terminal = Terminal(CliSession(device))
    stdout = process.stdout
    close_connection = False
    try:
        await _delay(device)
        stdout.write(terminal.greeting())
        while True:
            try:
                data = await process.stdin.read(READ_CHUNK)
            except (asyncssh.TerminalSizeChanged, asyncssh.BreakReceived, asyncssh.SignalReceived):
                continue
            if not data:
                break
            for output in terminal.feed(data):
                if output.is_reply:
                    await _delay(device)
                if output.data:
                    stdout.write(output.data)
                if output.close:
                    close_connection = True
                    break
            await stdout.drain()
            if close_connection:
                break
    except (asyncssh.Error, ConnectionError, OSError, asyncio.IncompleteReadError):
        pass  # the client went away; nothing to clean up beyond the channel
    except Exception:  # one broken session must never take the lab down
        log.exception("%s: CLI session failed", device.name)
        close_connection = True
    finally:
        # The device hangs up (quit, drop, flood) by closing the connection; after a client
        # hang-up there is nobody left to send an exit status to.
        if close_connection:
            conn.close()
        elif not conn.is_closed() and not process.channel.is_closing():
            process.exit(0)


async def _delay(device: SwitchDevice) -> None:
    if device.faults.slow > 0:
        await asyncio.sleep(device.faults.slow)


def build_options(keys: HostKeys, lookup: DeviceLookup,
                  legacy: bool) -> asyncssh.SSHServerConnectionOptions:
    common: dict[str, object] = {
        "server_factory": lambda: SwitchSSHServer(lookup),
        "process_factory": serve_session,
        "encoding": None,  # bytes: garbage input must not raise in a decoder
        "line_editor": False,  # the Terminal echoes like the device does
        "allow_pty": True,
        "agent_forwarding": False,
        "x11_forwarding": False,
        "allow_scp": False,
        "login_timeout": 30,
        "gss_host": None,
    }
    if legacy:
        # asyncssh offers rsa-sha2-* for an RSA key; an old switch signs with ssh-rsa only.
        keypair = asyncssh.load_keypairs([keys.legacy])[0]
        keypair.host_key_algorithms = list(LEGACY_HOST_KEY_ALGS)
        return asyncssh.SSHServerConnectionOptions(
            server_host_keys=[keypair], kex_algs=list(LEGACY_KEX),
            encryption_algs=list(LEGACY_CIPHERS), mac_algs=list(LEGACY_MACS), **common)
    return asyncssh.SSHServerConnectionOptions(server_host_keys=[keys.modern], **common)


class SwitchEndpoint:
    """The listening socket of one switch; can go offline and come back, or change algorithms.

    The socket is bound synchronously so that, once ``set_fault``/``clear_faults`` returns,
    connections are refused (offline) or queued in the backlog until asyncssh takes over.
    """

    def __init__(self, device: SwitchDevice,
                 options: Callable[[bool], asyncssh.SSHServerConnectionOptions]) -> None:
        self.device = device
        self._options = options
        self._acceptor: asyncssh.SSHAcceptor | None = None
        self._attaching: asyncio.Task[None] | None = None
        self._pending_sock: socket.socket | None = None

    @property
    def listening(self) -> bool:
        return self._acceptor is not None or self._attaching is not None

    def _legacy(self) -> bool:
        return self.device.spec.legacy_ssh_only or self.device.faults.legacy_ssh

    def _bind(self) -> socket.socket:
        spec = self.device.spec
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((spec.host, spec.port))
            sock.listen(128)
            sock.setblocking(False)
        except OSError:
            sock.close()
            raise
        return sock

    async def _attach(self, sock: socket.socket) -> None:
        try:
            self._acceptor = await asyncssh.listen(sock=sock, options=self._options(self._legacy()))
        except BaseException:
            sock.close()
            raise
        finally:
            # Only the current attach owns the bookkeeping (a cancelled one may finish later).
            if self._pending_sock is sock:
                self._attaching = None
                self._pending_sock = None

    async def open(self) -> None:
        self._pending_sock = self._bind()
        await self._attach(self._pending_sock)

    def reopen(self) -> None:
        """(Re)start listening with the current algorithms; existing sessions are kept."""
        self.stop_listening()
        self._pending_sock = self._bind()
        self._attaching = asyncio.get_running_loop().create_task(self._attach(self._pending_sock))

    def stop_listening(self) -> None:
        if self._attaching is not None:
            self._attaching.cancel()
            self._attaching = None
        if self._pending_sock is not None:
            # A task cancelled before it ran never reaches _attach's cleanup.
            self._pending_sock.close()
            self._pending_sock = None
        if self._acceptor is not None:
            self._acceptor.close()
            self._acceptor = None

    def cut_sessions(self) -> None:
        for conn in list(self.device.connections):
            conn.abort()

    async def close(self) -> None:
        attaching = self._attaching
        self.stop_listening()
        if attaching is not None:
            await asyncio.gather(attaching, return_exceptions=True)
        self.cut_sessions()
