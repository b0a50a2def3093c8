"""The switch's terminal line: bytes in, echo and replies out, paging of long output.

Sits between the SSH channel and ``CliSession``: assembles lines from keystrokes (or whole
pasted lines), echoes them like a device's pty does, handles backspace / Ctrl-C / Ctrl-Z, and
pages long output behind the vendor's "More" prompt until paging is turned off.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass

from safecity.lab.switch.session import CliSession, Reply

# A line this long without a newline is not a CLI user: drop the session.
HARD_LINE_CAP = 64 * 1024
_BACKSPACES = ("\x08", "\x7f")
_CTRL_C, _CTRL_Z = "\x03", "\x1a"


@dataclass(frozen=True)
class Output:
    data: bytes
    is_reply: bool  # a reply ends in a prompt; the "slow" fault delays it
    close: bool = False


def _crlf(text: str) -> bytes:
    return text.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8", "replace")


class Terminal:
    def __init__(self, session: CliSession) -> None:
        self.session = session
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._line: list[str] = []
        self._after_cr = False
        self._pending: list[str] = []  # lines still to show behind "More"
        self._final_prompt = ""
        self._closed = False

    def greeting(self) -> bytes:
        banner = self.session.greeting()
        return _crlf(("\n" + banner + "\n" if banner else "\n") + self.session.prompt())

    def feed(self, data: bytes) -> list[Output]:
        out: list[Output] = []
        echo: list[str] = []

        def flush_echo() -> None:
            if echo:
                out.append(Output(_crlf("".join(echo)), False))
                echo.clear()

        for ch in self._decoder.decode(data):
            if self._closed:
                break
            if ch == "\n" and self._after_cr:
                self._after_cr = False  # "\r\n" is one Enter
                continue
            self._after_cr = ch == "\r"
            if self._pending:
                flush_echo()
                out.append(Output(self._page_key(ch), True))
                continue
            if ch in "\r\n":
                echo.append("\n")
                flush_echo()
                line, self._line = "".join(self._line), []
                out.append(self._reply(self.session.handle(line)))
            elif ch in _BACKSPACES:
                if self._line:
                    self._line.pop()
                    if self.session.echo_input:
                        echo.append("\b \b")
            elif ch == _CTRL_C:
                self._line = []
                echo.append("^C\n")
                flush_echo()
                out.append(self._reply(self.session.interrupt()))
            elif ch == _CTRL_Z:
                self._line = []
                echo.append("^Z\n")
                flush_echo()
                out.append(self._reply(self.session.leave_config()))
            elif ch == "\t" or ch >= " " and ch != "\x7f":
                self._line.append(ch)
                if self.session.echo_input:
                    echo.append(ch)
                if len(self._line) > HARD_LINE_CAP:
                    flush_echo()
                    self._closed = True
                    out.append(Output(b"", False, close=True))
            # Any other control byte is swallowed, as a device's line editor does.
        flush_echo()
        return out

    def _reply(self, reply: Reply) -> Output:
        if reply.close:
            self._closed = True
            return Output(_crlf(reply.body + "\n") if reply.body else b"", True, close=True)
        page = self.session.page_lines
        lines = reply.body.split("\n") if reply.body else []
        if reply.pageable and page > 0 and len(lines) > page:
            self._pending = lines[page:]
            self._final_prompt = reply.prompt
            paging = self.session.dialect.paging
            return Output(_crlf("\n".join(lines[:page]) + "\n" + paging.more), True)
        text = "".join(line + "\n" for line in lines) + reply.prompt
        return Output(_crlf(text), True)

    def _page_key(self, key: str) -> bytes:
        paging = self.session.dialect.paging
        page = max(1, self.session.page_lines)
        if key == " ":
            count = page
        elif key in "\r\n":
            count = 1
        else:  # q, Ctrl-C or anything else stops the output
            count = 0
            self._pending = []
        shown, self._pending = self._pending[:count], self._pending[count:]
        text = paging.erase + "".join(line + "\n" for line in shown)
        if self._pending:
            text += paging.more
        else:
            text += self._final_prompt
        return _crlf(text)
