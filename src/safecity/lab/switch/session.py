"""One CLI session on a simulated switch: views, command matching, config edits, dialogs.

Line in, ``Reply`` out; no I/O. Everything platform-specific comes from the ``Dialect``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from safecity.lab.switch import show_output
from safecity.lab.switch.config_tree import ConfigNode, render_vendor
from safecity.lab.switch.device import SwitchDevice
from safecity.lab.switch.dialect import Command, Context, ErrorText, View

_TOKEN = re.compile(r"\S+")


@dataclass(frozen=True)
class Reply:
    body: str  # output before the prompt ("\n"-separated, no trailing newline)
    prompt: str
    close: bool = False
    pageable: bool = False  # long display output is paged when paging is on


@dataclass(frozen=True)
class Token:
    text: str
    offset: int  # column in the typed line (for the '^' marker)


@dataclass
class _Match:
    command: Command | None = None
    args: list[int] = field(default_factory=list)
    failure: str = "unrecognized"  # unrecognized / incomplete / wrong_parameter / too_many
    depth: int = 0  # index of the token the failure points at


def _tokens(line: str) -> list[Token]:
    return [Token(m.group(0), m.start()) for m in _TOKEN.finditer(line)]


def _expand(word: str, keywords: tuple[str, ...]) -> str | None:
    """The keyword ``word`` abbreviates (exact match first), or None if unknown/ambiguous."""
    low = word.lower()
    if low in keywords:
        return low
    found = [k for k in keywords if k.startswith(low)]
    return found[0] if len(found) == 1 else None


def _match_one(cmd: Command, toks: list[Token]) -> tuple[str, int, int, list[int]]:
    """(result, depth, exact literal count, int args) of ``toks`` against one command."""
    exact = 0
    args: list[int] = []
    for i, lit in enumerate(cmd.tokens):
        if i >= len(toks):
            return "incomplete", len(toks), exact, args
        word = toks[i].text
        if lit == "<int>":
            if not word.isdigit():
                return "wrong_parameter", i, exact, args
            args.append(int(word))
        elif lit.lower().startswith(word.lower()):
            exact += lit.lower() == word.lower()
        else:
            return "unrecognized", i, exact, args
    if len(toks) > len(cmd.tokens):
        return "too_many", len(cmd.tokens), exact, args
    return "ok", len(toks), exact, args


class CliSession:
    def __init__(self, device: SwitchDevice) -> None:
        self.device = device
        self.dialect = device.dialect
        self.level = self.dialect.login_level
        self.in_config = False
        self.view: View | None = None
        self.view_vars: dict[str, str] = {}
        self.block_text = ""
        self.page_lines = self.dialect.paging.default_lines
        self.config_commands = 0
        self._dialog: tuple[Command, int] | None = None
        self._awaiting_enable = False

    # --- prompt and terminal hooks ------------------------------------------------------------
    @property
    def echo_input(self) -> bool:
        if self._awaiting_enable:
            return False
        if self._dialog is not None:
            cmd, step = self._dialog
            return cmd.steps[step].echo
        return True

    def prompt(self) -> str:
        if self._awaiting_enable:
            return self.dialect.password_prompt
        if self._dialog is not None:
            cmd, step = self._dialog
            return cmd.steps[step].prompt.rstrip("\n")
        hostname = self.device.hostname
        if self.view is not None:
            return self.view.prompt.format(hostname=hostname, **self.view_vars)
        prompts = self.dialect.prompts
        if self.in_config:
            return prompts.config.format(hostname=hostname)
        template = prompts.privileged if self.level == "privileged" else prompts.user
        return template.format(hostname=hostname)

    def greeting(self) -> str:
        return self.dialect.login_banner.rstrip("\n")

    def interrupt(self) -> Reply:
        """Ctrl-C: abandon the line (and any dialog)."""
        self._dialog = None
        self._awaiting_enable = False
        return Reply("", self.prompt())

    def leave_config(self) -> Reply:
        """Ctrl-Z: back to the exec view."""
        self._dialog = None
        self._to_exec()
        return Reply("", self.prompt())

    # --- dispatch -----------------------------------------------------------------------------
    def handle(self, line: str) -> Reply:
        if self._awaiting_enable:
            return self._enable_answer(line)
        if self._dialog is not None:
            return self._dialog_answer(line)
        if len(line) > self.dialect.max_line_length:
            return self._error(self.dialect.errors.too_long, line, 0)
        toks = _tokens(line)
        if not toks:
            return Reply("", self.prompt())
        if self.in_config:
            return self._config_line(line, toks)
        return self._exec_line(line, toks, "exec")

    def _error(self, err: ErrorText, line: str, column: int) -> Reply:
        lines = []
        if err.caret:
            lines.append(" " * (len(self.prompt()) + column) + "^")
        lines.append(err.text)
        if self.dialect.error_blank_line:
            lines.append("")
        return Reply("\n".join(lines), self.prompt())

    def _match(self, toks: list[Token], context: Context) -> _Match:
        best = _Match()
        best_exact = -1
        for cmd in self.dialect.commands:
            if context not in cmd.contexts:
                continue
            if cmd.level == "privileged" and self.level != "privileged":
                continue
            result, depth, exact, args = _match_one(cmd, toks)
            if result == "ok":
                if best.command is None or exact > best_exact:
                    best, best_exact = _Match(cmd, args, "ok", depth), exact
            elif best.command is None and (depth > best.depth or (
                    depth == best.depth and best.failure == "unrecognized")):
                best = _Match(None, [], result, depth)
        return best

    def _failure(self, m: _Match, line: str, toks: list[Token]) -> Reply:
        column = toks[m.depth].offset if m.depth < len(toks) else len(line.rstrip())
        return self._error(getattr(self.dialect.errors, m.failure), line, column)

    def _exec_line(self, line: str, toks: list[Token], context: Context) -> Reply:
        # "display current-configuration | include vlan": the filter applies to output only.
        pipe = next((i for i, t in enumerate(toks) if t.text == "|"), None)
        cmd_toks = toks if pipe is None else toks[:pipe]
        m = self._match(cmd_toks, context)
        if m.command is None:
            return self._failure(m, line, toks)
        reply = self._run(m.command, m.args)
        if pipe is not None:
            if not reply.pageable:
                return self._error(self.dialect.errors.unrecognized, line, toks[pipe].offset)
            filtered = self._filter(reply.body, toks[pipe + 1:])
            if filtered is None:
                column = toks[pipe + 1].offset if pipe + 1 < len(toks) else len(line)
                return self._error(self.dialect.errors.wrong_parameter, line, column)
            reply = Reply(filtered, reply.prompt, pageable=True)
        return reply

    @staticmethod
    def _filter(body: str, toks: list[Token]) -> str | None:
        if len(toks) < 2:
            return None
        kind = _expand(toks[0].text, ("include", "exclude", "begin"))
        try:
            rx = re.compile(" ".join(t.text for t in toks[1:]))
        except re.error:
            return None
        lines = body.split("\n")
        if kind == "include":
            return "\n".join(ln for ln in lines if rx.search(ln))
        if kind == "exclude":
            return "\n".join(ln for ln in lines if not rx.search(ln))
        if kind == "begin":
            start = next((i for i, ln in enumerate(lines) if rx.search(ln)), len(lines))
            return "\n".join(lines[start:])
        return None

    # --- exec actions -------------------------------------------------------------------------
    def _run(self, cmd: Command, args: list[int]) -> Reply:
        action = cmd.action
        device = self.device
        views: dict[str, Callable[[SwitchDevice], str]] = {
            "show_running": SwitchDevice.running_text,
            "show_saved": SwitchDevice.saved_text,
            "show_mac": show_output.mac_table,
            "show_interfaces": show_output.interface_status,
            "show_version": show_output.version,
        }
        if action in views:
            body = views[action](device)
            return Reply(body.rstrip("\n"), self.prompt(), pageable=True)
        if action == "show_this":
            return Reply(self._this().rstrip("\n"), self.prompt(), pageable=True)
        if action == "set_paging":
            self.page_lines = args[0] if args else 0
        elif action == "disable_paging":
            self.page_lines = 0
        elif action == "reset_paging":
            self.page_lines = self.dialect.paging.default_lines
        elif action == "enter_config":
            self.in_config = True
            return Reply(self.dialect.enter_config_message, self.prompt())
        elif action == "quit":
            if self.view is not None:
                self._leave_view()
            elif self.in_config:
                self.in_config = False
            else:
                return Reply("", "", close=True)
        elif action == "return":
            self._to_exec()
        elif action == "enable":
            if self.level != "privileged":
                self._awaiting_enable = True
        elif action == "disable":
            self.level = "user"
        elif action == "save":
            if cmd.steps:
                self._dialog = (cmd, 0)
                return Reply("", self.prompt())
            self.device.save()
        return Reply(cmd.done.rstrip("\n"), self.prompt())

    def _this(self) -> str:
        """``display this``: the current view's block (the whole configuration elsewhere)."""
        root = self.device.running
        if self.view is not None:
            node = root.child(self.block_text)
            root = ConfigNode("", [node] if node is not None else [])
        render = self.dialect.render.model_copy(update={"header": ""})
        return render_vendor(root, render, self.device.block_keywords)

    def _dialog_answer(self, line: str) -> Reply:
        assert self._dialog is not None
        cmd, index = self._dialog
        step = cmd.steps[index]
        if not re.match(step.accept, line.strip()):
            self._dialog = None
            return Reply(step.cancelled.rstrip("\n"), self.prompt())
        if index + 1 < len(cmd.steps):
            self._dialog = (cmd, index + 1)
            return Reply("", self.prompt())
        self._dialog = None
        self.device.save()
        return Reply(cmd.done.rstrip("\n"), self.prompt())

    def _enable_answer(self, line: str) -> Reply:
        self._awaiting_enable = False
        if self.device.check_enable(line.strip()):
            self.level = "privileged"
            return Reply("", self.prompt())
        return Reply(self.dialect.errors.denied.text, self.prompt())

    # --- configuration ------------------------------------------------------------------------
    def _to_exec(self) -> None:
        self.in_config = False
        self._leave_view()

    def _leave_view(self) -> None:
        self.view, self.view_vars, self.block_text = None, {}, ""

    def _config_line(self, line: str, toks: list[Token]) -> Reply:
        rules = self.dialect.config
        if rules.exec_prefix and toks[0].text == rules.exec_prefix and len(toks) > 1:
            return self._exec_line(line, toks[1:], "exec")
        first = toks[0].text
        view_keywords = self.view.keywords if self.view else ()
        is_config_word = (first == rules.negation or _expand(first, view_keywords) is not None
                          or _expand(first, rules.keywords) is not None)
        pipe = next((i for i, t in enumerate(toks) if t.text == "|"), len(toks))
        m = self._match(toks[:pipe], "config")
        if m.command is not None:
            return self._exec_line(line, toks, "config")
        if m.depth > 0 and not is_config_word:
            return self._failure(m, line, toks)
        return self._apply_config(line, toks)

    def _apply_config(self, line: str, toks: list[Token]) -> Reply:
        rules = self.dialect.config
        errors = self.dialect.errors
        negated = toks[0].text == rules.negation
        rest = toks[1:] if negated else toks
        if not rest:
            return self._error(errors.incomplete, line, len(line.rstrip()))
        view = self.view
        keyword = _expand(rest[0].text, view.keywords) if view else None
        top_level = keyword is None
        if top_level:
            # Like IOS (and close enough for VRP): a command unknown in the sub-view is tried
            # in the system view, which also ends the sub-view.
            keyword = _expand(rest[0].text, rules.keywords)
        if keyword is None:
            return self._error(errors.unrecognized, line, rest[0].offset)
        body = " ".join([keyword] + [t.text for t in rest[1:]])
        self.config_commands += 1
        reject = self.device.faults.reject
        if reject and reject in line:
            return self._maybe_drop(self._error(errors.rejected, line, rest[0].offset))
        if top_level:
            for candidate in rules.views:
                opened = re.fullmatch(candidate.opener, body)
                if opened:
                    return self._maybe_drop(self._open_view(candidate, opened, negated, line,
                                                            rest))
        bare = view.bare_keywords if view and not top_level else rules.bare_keywords
        if len(rest) == 1 and keyword not in bare and not negated:
            return self._error(errors.incomplete, line, len(line.rstrip()))
        if top_level:
            self._leave_view()
            parent = self.device.running
        else:
            parent = self.device.rules.ensure_block(self.device.running, self.block_text)
        if negated:
            self.device.rules.negate(parent, body, top_level)
        else:
            self.device.rules.set_line(parent, body, top_level)
        return self._maybe_drop(Reply("", self.prompt()))

    def _open_view(self, view: View, opened: re.Match[str], negated: bool, line: str,
                   rest: list[Token]) -> Reply:
        values = {k: v or "" for k, v in opened.groupdict().items()}
        if view.kind == "interface":
            name = self.device.normalize_interface(values.get("name", ""))
            if name is None or (negated and self.device.is_physical(name)):
                column = rest[1].offset if len(rest) > 1 else len(line)
                return self._error(self.dialect.errors.wrong_parameter, line, column)
            values["name"] = name
        text = view.canonical.format(**values)
        rules = self.device.rules
        if negated:
            node = self.device.running.child(text)
            if node is not None:
                self.device.running.children.remove(node)
            self._leave_view()
            return Reply("", self.prompt())
        rules.ensure_block(self.device.running, text)
        self.view, self.view_vars, self.block_text = view, values, text
        return Reply("", self.prompt())

    def _maybe_drop(self, reply: Reply) -> Reply:
        limit = self.device.faults.drop_after
        if limit is not None and self.config_commands >= limit:
            return Reply("", "", close=True)
        return reply
