"""Each step of a trace (harness/trace.py) as lines of Python: the
translation of one harness operation (a shell command, a connect, a signal,
a check) into a call on the blocks of conformance/repro/runtime*.py, with
what differed in the case's run put back as names (``P2``, ``run.tmp``,
``sh1.exe``), and the blocks those lines need.

Kept apart from conformance.repro.generate (which assembles the script)
because it is the part that grows with the harness: a new handle method
that is traced gets its ``op_...`` here.
"""
from __future__ import annotations

import base64
import json
import re

FAILED_CHECK = "check"


class StepRenderer:
    """Turns steps into lines of code, knowing which names are defined."""

    def __init__(self, trace: dict):
        self.roots = {k: v for k, v in trace.get("roots", {}).items() if v}
        self.pid_names = {int(k): v for k, v in trace.get("pids", {}).items()}
        self.pid_expr: dict[str, str] = {}     # P1 -> sh1.pid, P2 -> P2 (assigned)
        self.values: dict[str, str] = {}       # a step's out name or #N -> its variable
        self.needed_values: set[str] = set()
        self.blocks: set[str] = set()
        self.checks: set[str] = set()
        self.unreplayed: list[str] = []
        self.used_answers: set[str] = set()
        self.child_lines: set[str] = set()
        self.programs: dict = {}
        self.pending: dict = {}          # background commands whose answer is not read yet
        self.defined: set = set()        # handles created so far (sh1...): their folders
        self.standin: dict = {}          # shell -> the probe mode its stand-in child plays
        self.spawned: dict = {}          # a child's pid name -> its object id in the shell

    # -- values ----------------------------------------------------------------
    def pid(self, name) -> str:
        return self.pid_expr.get(name, name) if name else "None"

    def text(self, value: str) -> str:
        """A string literal, or an f-string where it holds this run's folder or a pid."""
        parts = [(re.escape(path), "{" + ("run.tmp" if sym == "tmp" else sym) + "}")
                 for sym, path in sorted(self.roots.items(), key=lambda kv: -len(kv[1]))
                 if sym == "tmp" or sym.partition(".")[0] in self.defined]
        for pid, name in self.pid_names.items():
            if name in self.pid_expr:
                parts.append((rf"\b{pid}\b", "{" + self.pid_expr[name] + "}"))
        if not parts:
            return repr(value)
        rx = re.compile("|".join(f"({p})" for p, _ in parts))
        out, last, hit = [], 0, False
        for m in rx.finditer(value):
            out.append(_brace(value[last:m.start()]))
            out.append(parts[m.lastindex - 1][1])
            last, hit = m.end(), True
        out.append(_brace(value[last:]))
        return "f" + repr("".join(out)) if hit else repr(value)

    def pattern(self, rx: str) -> str:
        """A regular expression literal; where it holds this run's folder
        (escaped, as ``re.escape`` wrote it) an f-string escaping ``run.tmp``."""
        tmp = self.roots.get("tmp")
        if not tmp or re.escape(tmp) not in rx:
            return repr(rx)
        parts = [_brace(part) for part in rx.split(re.escape(tmp))]
        return "f" + repr("{re.escape(run.tmp)}".join(parts))

    def lit(self, value) -> str:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return "[" + ", ".join(self.lit(v) for v in value) + "]"
        if isinstance(value, dict):
            return "{" + ", ".join(f"{self.lit(k)}: {self.lit(v)}" for k, v in value.items()) + "}"
        return repr(value)

    def events(self, source) -> str:
        if not source:
            return "[]"
        if "answer" in source:
            return f"{source['answer']}.events"
        return f"{source['events']}.events"

    def value_of(self, ref) -> str:
        """The variable holding what step ``ref`` gave (``#N``, ``a3``, or an item: ``#N[0]``)."""
        base, _, item = (ref or "").partition("[")
        var = self.values.get(base)
        return "None" if var is None else var + (f"[{item}" if item else "")

    # -- steps ---------------------------------------------------------------
    def step(self, i: int, s: dict) -> list[str]:
        first = []
        for out, (line, on) in list(self.pending.items()):     # a background answer, now due
            if out in (s.get("answer"), (s.get("events") or {}).get("answer")) or (
                    s.get("on") == on and s["op"] in _READS_SHELL):
                first.append(line)
                del self.pending[out]
        return first + self._step(i, s)

    def _step(self, i: int, s: dict) -> list[str]:
        op = s["op"]
        fn = getattr(self, "op_" + op.replace(".", "_"), None)
        if fn is None:
            self.unreplayed.append(op)
            return [f"# not replayed: {op} {json.dumps({k: v for k, v in s.items() if k != 'op'})[:120]}"]
        lines = fn(s)
        if isinstance(lines, str):
            lines = [lines]
        key = s.get("out") or f"#{i}"
        if key in self.needed_values and lines and "=" not in lines[-1].split("(")[0]:
            var = s.get("out") or f"v{i}"
            self.values[key] = var
            lines[-1] = f"{var} = {lines[-1]}"
        return lines

    def _on(self, s):
        return s.get("on") or "None"

    def _timeout(self, s, default):
        t = s.get("timeout")
        return "" if t in (None, default) else f", timeout={t!r}"

    def op_shell_start(self, s):
        self.blocks.add("SHELL")
        self.defined.add(s["on"])
        self.pid_expr[s["pid"]] = f"{s['on']}.pid"
        names = list(s.get("probe_names", [])) + list(s.get("link_node_as", []))
        args = [f"names={self.lit(names)}"] if names != ["probe-child"] else []
        if {k: v for k, v in (s.get("env") or {}).items() if not k.startswith("IPC_BAIT")}:
            args.append(f"env={self.lit({k: v for k, v in s['env'].items() if not k.startswith('IPC_BAIT')})}")
        if s.get("datadir") and s["datadir"] != self.roots.get("tmp"):
            args.append(f"datadir={self.lit(s['datadir'])}")
        out = []
        if not s.get("tty", True):
            out.append("# the suite ran this shell on pipes, not a pty")
        env = dict(s.get("env") or {})
        if s.get("bait_fds"):
            self.blocks.add("SHELL_BAIT")
            nofile = f", {int(env['IPC_BAIT_NOFILE'])}" if env.get("IPC_BAIT_NOFILE") else ""
            args.append(f"preexec_fn=lambda: bait({self.lit(s['bait_fds'])}{nofile})")
        mode = s.get("probe_mode", "serve")
        if mode in _STAND_INS:
            block, program = _STAND_INS[mode]
            self.blocks |= {"SHELL_STANDIN", block}
            self.standin[s["on"]] = mode
            if mode == "exit-now":
                program += f" % {int(env.get('IPC_PROBE_EXIT_STATUS', 0))}"
            out.append(f"exe, env = stand_in(run, {self.lit(s.get('probe_names'))}, {program})")
            extra = {k: v for k, v in env.items() if not k.startswith("IPC_")}
            args = [a for a in args if not a.startswith(("names=", "env="))]
            args += [f"names={self.lit(names)}"] if names != ["probe-child"] else []
            args += ["exe=exe", f"env={{**env, **{self.lit(extra)}}}" if extra else "env=env"]
        elif mode != "serve":
            out.append(f"# the suite's probe child ran in mode {s.get('probe_mode')}: not "
                       "replayed, the node stands in")
            self.unreplayed.append(f"probe mode {s.get('probe_mode')}")
        return out + [f"{s['on']} = Shell(run{''.join(', ' + a for a in args)})"]

    def op_shell_command(self, s):
        if s.get("background"):          # sent from a thread: its answer is read later
            self.pending[s["out"]] = (f"{s['out']} = Answer({s['on']}, {self.text(s['line'])}"
                                      f"{self._timeout(s, 20)}, sent=True)", s["on"])
            return f"{s['on']}.p.sendline({self.text(s['line'])})  # answered below"
        pids, res = [], s.get("result") or {}
        text = " ".join([res.get("result", ""), *res.get("data", [])])
        if m := re.match(r"ok spawned (\d+) pid=(\d+)", res.get("result", "")):
            self.spawned[self.pid_names.get(int(m[2]))] = m[1]
        for n, pid in enumerate(re.findall(r"\bpid=(\d+)", text)):
            name = self.pid_names.get(int(pid))
            if name and name not in self.pid_expr:
                self.pid_expr[name] = name
                pids.append(f"{name} = {s['out']}.pid({n or ''})")
        used = s["out"] in self.used_answers or pids       # an Answer only for what reads it
        call = (f"Answer({s['on']}, " if used else f"{s['on']}.command(") + \
            f"{self.text(s['line'])}{self._timeout(s, 20)})"
        return [f"{s['out']} = {call}" if used else call] + pids

    def op_shell_wait_mark(self, s):
        if self.standin.get(s.get("on")) in ("stall", "deaf"):
            return f"wait_mark(run{self._timeout(s, 10)})"
        return [f"# not replayed: the probe child's mark {s.get('what')!r}"]

    def op_shell_probe_records(self, s):
        """The checks read the children's /proc instead, once each child has
        started (it answered a probe); a child that exits at once gives its
        pid on the FIFO."""
        out = []
        for name in s.get("result") or []:
            if name not in self.pid_expr and self.standin.get(s.get("on")) == "exit-now":
                self.pid_expr[name] = name
                out.append(f"{name} = wait_mark(run{self._timeout(s, 10)})")
            elif s.get("on") not in self.standin and name in self.spawned:
                # the record said the child had started; the node standing in says so
                # by answering a probe (whatever it answers), so /proc shows it after exec
                out.append(f"{s['on']}.command('probe {self.spawned[name]}')  # it runs: started")
        return out

    def op_shell_stage(self, s):
        self.blocks.add("SHELL_STAGE")
        return f"{s['on']}.stage({self.lit(s['name'])}, {self.lit(s['text'])})"

    def op_shell_expect(self, s):
        self.blocks.add("SHELL_EXPECT")
        return f"{s['on']}.expect({self.text(s['event'])}{self._timeout(s, 10)})"

    def op_shell_quit(self, s):
        self.blocks.add("SHELL_END")
        return f"{s['on']}.quit()"

    def op_shell_expect_event(self, s):
        self.blocks.add("SHELL_EXPECT")
        return f"{s['on']}.expect_event({self.pattern(s['pattern'])}{self._timeout(s, 10)})"

    def op_shell_send_eof(self, s):
        return f"{s['on']}.p.sendeof()"

    def op_shell_wait_end(self, s):
        self.blocks.add("SHELL_END")
        return f"{s['on']}.wait_end({s.get('timeout', 10)!r})"

    def op_shell_drain(self, s):
        self.blocks.add("SHELL_END")
        return f"{s['on']}.drain({s.get('timeout', 10)!r})"

    def op_shell_alive(self, s):
        self.blocks.add("SHELL_END")
        return f"{s['on']}.alive()"

    def op_kill(self, s):
        return f"os.kill({self.pid(s['pid'])}, signal.{_signame(s['sig'])})"

    def op_child_echo(self, s):
        self.blocks |= {"CLIENT_ECHO", "PROXY"}
        on = f"{s['on']}.client" if s["op"].startswith("child.") else self._on(s)
        return f"{on}.echo({self.lit((s.get('args') or [''])[0])}{self._timeout(s, 10)})"

    op_client_echo = op_child_echo

    def op_child_echo_after_destroy(self, s):
        self.blocks |= {"CLIENT_ECHO", "PROXY"}
        return f"{s['on']}.client.echo_after_destroy()"

    def op_child_start(self, s):
        self.blocks |= {"LOOP", "CHILD"}
        self.pid_expr[s["pid"]] = f"{s['on']}.pid"
        args = [f"env={self.lit(s['env'])}"] if s.get("env") else []
        if not s.get("connect", True):
            args.append("connect=False")
        start = f"{s['on']} = Child(run{''.join(', ' + a for a in args)}"
        if s["on"] in self.child_lines:       # its stdout read, for wait_line
            self.blocks.add("LINES")
            return [start + ", lines=True)", f"{s['on']}.out = Lines({s['on']}.p.stdout)"]
        return start + ")"

    def _call(self, s):
        """A round trip on a client; ``ping`` is the probe (the proxy schema is
        the one the script loads)."""
        args = ", ".join(self.lit(a) for a in s.get("args", []))
        method = s["op"].split(".")[1].replace("ping", "probe")
        on = f"{s['on']}.client" if s["op"].startswith("child.") else self._on(s)
        return f"{on}.{method}({args})"

    op_child_probe = op_child_ping = op_client_probe = op_client_ping = _call

    def op_child_close(self, s):
        return f"{s['on']}.disconnect()"

    op_client_close = op_child_close

    def _role(self, s, method):
        self.blocks.add(("CHILD_" if s["op"].startswith("child.") else "LISTENER_") + method)

    def op_child_wait_exit(self, s):
        self._role(s, "WAIT")
        return f"{s['on']}.wait_exit({s.get('timeout', 10)!r})"

    op_listener_wait_exit = op_child_wait_exit

    def op_child_exit_status(self, s):
        self._role(s, "POLL")
        return f"{s['on']}.exit_status()"

    op_listener_exit_status = op_child_exit_status

    def op_child_signal(self, s):
        return f"{s['on']}.p.send_signal(signal.{_signame(s['sig'])})"

    op_listener_signal = op_child_signal

    def op_proc_signal(self, s):
        return f"{s['on']}.send_signal(signal.{_signame(s['sig'])})"

    def op_proc_wait_line(self, s):
        start = f", start={s['start']}" if s.get("start") else ""
        stream = "err" if s.get("stream") == "stderr" else "out"
        return f"wait_output({s['on']}.{stream}, {self.pattern(s['pattern'])}{self._timeout(s, 10)}{start})"

    def op_child_wait_line(self, s):
        self._role(s, "LINE")
        start = f", start={s['start']}" if s.get("start") else ""
        return f"{s['on']}.wait_line({self.pattern(s['pattern'])}, {s.get('timeout', 10)!r}{start})"

    op_listener_wait_line = op_child_wait_line

    def op_listener_start(self, s):
        self.blocks |= {"LISTENER", "LINES"}
        self.pid_expr[s["pid"]] = f"{s['on']}.pid"
        args = [self.lit(s["address"]), self.lit(s["datadir"])]
        if s.get("extra_args"):
            args.append(f"extra_args={self.lit(s['extra_args'])}")
        if not s.get("wait_ready", True):
            args.append("wait_ready=False")
        elif s.get("ready_timeout", 10) != 10:        # a ready wait folded in (generate)
            args.append(f"timeout={s['ready_timeout']!r}")
        return f"{s['on']} = Listener(run, {', '.join(args)})"

    def op_listener_connect(self, s):
        self.blocks.add("LOOP")
        return f"{s['out']} = Client(run, {s['on']}.raw_connect())"

    def op_listener_raw_connect(self, s):
        return f"{s['out']} = {s['on']}.raw_connect()"

    def op_suite_connect(self, s):
        self.blocks |= {"LOOP", "CONNECT_UNIX"}
        return f"{s['out']} = connect_unix(run, {self.lit(s['path'])})"

    def op_suite_close_all(self, s):
        return []

    def op_fs_write(self, s):
        self.blocks.add("FILES")
        return f"write_file({self.lit(s['path'])}, {self.lit(s['text'])})"

    def op_fs_mkdir(self, s):
        return f"os.mkdir({self.lit(s['path'])})"

    def op_fs_rmdir(self, s):
        return f"os.rmdir({self.lit(s['path'])})"

    def op_fs_symlink(self, s):
        return f"os.symlink({self.lit(s['target'])}, {self.lit(s['link'])})"

    def op_fs_stale_socket(self, s):
        self.blocks |= {"FILES", "SOCKETS"}
        return f"stale_socket({self.lit(s['path'])})"

    def op_fs_listen(self, s):
        self.blocks |= {"FILES", "SOCKETS"}
        return f"listening_socket({self.lit(s['path'])})"

    def op_fds_count(self, s):
        self.checks.add("fds_at_most")
        return f"count_fds({self.pid(s['pid'])})"

    def op_sock_send(self, s):
        data = s["data"]
        raw = bytes.fromhex(data["bytes_hex"]) if isinstance(data, dict) else data.encode()
        if len(raw) > 64:
            return (f"{s['on']}.sendall(base64.b64decode({base64.b64encode(raw).decode()!r}))"
                    f"  # {len(raw)} bytes")
        return f"{s['on']}.sendall({raw!r})"

    def op_sock_shutdown(self, s):
        return f"{s['on']}.shutdown({s['how']})"

    def op_sock_close(self, s):
        return f"{s['on']}.close()" if s.get("on") else []

    def op_sock_ended_by_peer(self, s):
        self.blocks |= {"SOCK", "PROCS"}
        return f"ended_by_peer({s['on']}{self._timeout(s, 10)})"

    def op_client_on_socket(self, s):
        self.blocks.add("LOOP")
        return f"{s['out']} = Client(run, {s['on']})"

    def op_probes_start(self, s):
        self.blocks.add("PROBES")
        return f"{s['out']} = Probes([{', '.join(s['on'])}])"

    def op_probes_served(self, s):
        return f"{s['out']} = {s['on']}.served({s['index']})"

    def op_clients_probe_all(self, s):
        self.blocks.add("PROBE_ALL")
        return f"probe_all([{', '.join(s['on'])}]{self._timeout(s, 10)})"

    def op_suite_serve(self, s):
        self.blocks |= {"LISTENER", "LINES"}
        var = f"server{len(self.values) + 1}"
        return [f"# the suite's own Init server at {s['path']}: the node serves in its place",
                f"{var} = Listener(run, {self.lit('unix:' + s['path'])}, run.tmp)"]

    def op_listener_line_within(self, s):
        start = f", start={s['start']}" if s.get("start") else ""
        if s.get("stream") == "stderr":      # the ready line is on stdout: the plain wait
            return f"{s['on']}.err.wait({self.pattern(s['pattern'])}, {s.get('timeout', 10)!r}{start})"
        return f"{s['on']}.line_within({self.pattern(s['pattern'])}, {s.get('timeout', 10)!r}{start})"

    def op_proc_start(self, s):
        self.blocks |= {"LINES", "PROC"}
        argv = "[" + ", ".join(self.program(a) for a in s["argv"]) + "]"
        opts = "".join(f", {k}={self.lit(s[k])}" for k in ("env", "cwd", "pass_fds") if s.get(k))
        # a passed descriptor that was a file: the same file opened at that number
        opened = [f"os.dup2(os.open({path!r}, os.O_RDONLY), {int(fd)})  # passed to the program"
                  for fd, path in (s.get("fd_paths") or {}).items()]
        return opened + [f"{s['out']} = start(run, {argv}{opts})"]

    def op_proc_wait_exit(self, s):
        return f"wait({s['on']}{self._timeout(s, 10)})"

    def program(self, arg) -> str:
        """An argument: the implementation's program by its name in PROGRAMS."""
        for name, path in self.programs.items():
            if arg == path:
                return f"PROGRAMS[{name!r}]"
        return self.lit(arg)

    def op_rlimit_exhaust(self, s):
        self.blocks.add("LIMITS")
        return f"exhaust({self.pid(s['pid'])}, {s.get('spare', 0)})"

    def op_rlimit_set(self, s):
        self.blocks.add("LIMITS")
        return f"set_nofile({self.pid(s['pid'])}, {s['soft']})"

    def op_rlimit_restore(self, s):
        self.blocks.add("LIMITS")
        return f"restore({self.pid(s['pid'])})"

    def op_check(self, s):
        name = s["check"]
        self.checks.add(name)
        if name == "backlog":
            self.blocks.add("SS")
        if name in ("equal", "contains", "fds_at_most", "not_equal") and \
                self.value_of(s.get("of")) == "None":
            self.unreplayed.append(f"check {name}")
            return [f"# not replayed: {name} check {s.get('what')!r} (expected "
                    f"{s.get('expected')!r}): the step it looked at is not known"]
        if name in ("gone", "exits", "not_zombie", "no_zombies"):
            self.blocks.add("PROCS")
        if name in ("gone", "not_zombie", "no_zombies"):
            self.blocks.add("ZOMBIE")
        what = self.lit(s.get("what") or "")
        if name == "answer_ok":
            return f"check_ok({s['answer']}{', ' + what if s.get('what') else ''})"
        if name == "answer":
            return f"check_answer({s['answer']}, {self.lit(s['expected'])}, {what})"
        if name == "answer_prefix":
            return f"check_error({s['answer']}, {self.lit(s['prefix'])}, {what})"
        if name == "reaped":
            return (f"check_reaped({self.events(s.get('events'))}, {s['obj']}, "
                    f"{self.pid(s['pid'])}, {s['status']})")
        if name in ("gone", "exits"):
            t = s.get("timeout", 10)
            return (f"check_{name}({self.pid(s['pid'])}, {what}"
                    + (f", {t!r})" if t != 10 else ")"))
        if name == "not_zombie":
            return f"check_not_zombie({self.pid(s['pid'])}, {what})"
        if name == "no_zombies":
            return f"check_no_zombies([{', '.join(self.pid(p) for p in s['pids'])}], {what})"
        if name == "cleanups":
            return f"check_cleanups({self.events(s.get('events'))}, {self.lit(s['tags'])}, {what})"
        if name == "events":
            return f"check_events({self.events(s.get('events'))}, {self.lit(s['lines'])}, {what})"
        if name == "equal":
            return f"check_equal({self.value_of(s.get('of'))}, {self.lit(s['expected'])}, {what})"
        if name == "not_equal":
            return f"check_not_equal({self.value_of(s.get('of'))}, {self.lit(s['unwanted'])}, {what})"
        if name == "contains":
            return f"check_contains({self.value_of(s.get('of'))}, {self.lit(s['part'])}, {what})"
        if name == "alive":
            self.blocks.add("PROCS")
            return f"{s['on']}.check_alive()"
        if name in ("exact_fds", "fds_absent", "parent_end_cloexec"):
            self.blocks.add("FDS")
        if name == "exact_fds":
            return f"check_exact_fds({self.pid(s['record'])}, {s['fds']!r})"
        if name == "fds_absent":
            return (f"check_fds_absent({self.pid(s['record'])}, {s['fds']!r}, "
                    f"{self.lit(s.get('target'))}, {what})")
        if name == "parent_end_cloexec":
            return f"check_parent_end_cloexec({self.pid(s['shell'])}, {self.pid(s['record'])})"
        if name == "probes_answered":
            return f"{s['on']}.check_answered({s['count']}{self._timeout(s, 10)}, what={what})"
        if name == "probes_pending":
            return f"{s['on']}.check_pending({s['count']}, {what})"
        if name == "probes_all":
            return f"{s['on']}.check_all_answered({s.get('timeout', 10)!r}, {what})"
        if name == "signals_default":
            return f"check_signals_default({self.lit(s['path'])}, {s['sigs']!r}, {what})"
        if name == "running":
            return f"check_running([{', '.join(self.pid(p) for p in s['pids'])}], {what})"
        if name == "exit_status":
            opt = "nonzero=True" if s.get("nonzero") else f"status={s.get('status')!r}"
            return f"check_exit({s['on']}, {opt}" + (f", what={what})" if s.get("what") else ")")
        if name == "stderr_contains":
            return f"check_stderr({s['on']}, {self.lit(s['text'])}, {what})"
        if name == "cleanup_count":
            return (f"check_cleanup_count({self.events(s.get('events'))}, {self.lit(s['tag'])}, "
                    f"{s['count']})")
        if name == "ids_grow":
            return f"check_ids_grow([{', '.join(s['answers'])}], {what})"
        if name == "backlog":
            why = f", {self.lit(s['what'])}" if s.get("what") else ""
            return f"check_backlog({self.lit(s['path'])}, {s['count']}{why})"
        if name == "fds_at_most":
            return f"check_fds_at_most({self.pid(s['pid'])}, {self.value_of(s['of'])}, {what})"
        if name == "file":
            opts = "".join(f", {k}={self.lit(s[k])}" for k in ("content", "link_to")
                           if s.get(k) is not None)
            return (f"check_file({self.lit(s['path'])}, {s['kind']!r}{opts}"
                    + (f", what={what})" if s.get("what") else ")"))
        if name == "no_file":
            return f"check_no_file({self.lit(s['path'])}" + (f", {what})" if s.get("what") else ")")
        self.unreplayed.append(f"check {name}")
        return [f"# not replayed: the check {name} (expected {s.get('expected')!r})"]


# Probe modes of the suite's probe child, and the child of the script's own
# that stands in for each (conformance/repro/runtime.py).
_STAND_INS = {"stall": ("STALL_CHILD", "STALL_CHILD"), "deaf": ("DEAF_CHILD", "DEAF_CHILD"),
              "exit-now": ("EXIT_CHILD", "EXIT_CHILD")}

# Steps that read the shell's output: a background command's answer comes first.
_READS_SHELL = {"shell.command", "shell.expect", "shell.expect_event", "shell.quit",
                "shell.wait_end", "shell.drain"}


def _brace(text: str) -> str:
    return text.replace("{", "{{").replace("}", "}}")


def _signame(sig: int) -> str:
    import signal
    try:
        return signal.Signals(sig).name
    except ValueError:
        return str(sig)


def _referenced(steps: list[dict]) -> set[str]:
    """Steps whose value a check looks at (they get a variable)."""
    return {s["of"].partition("[")[0] for s in steps if s.get("op") == FAILED_CHECK and s.get("of")}


def _answers_used(steps: list[dict]) -> set[str]:
    """Answers (a1, a2...) a later step looks at."""
    out = set()
    for s in steps:
        if s.get("op") == FAILED_CHECK:
            out.add(s.get("answer"))
            out.add((s.get("events") or {}).get("answer"))
    return out - {None}


def render_steps(trace: dict, steps: list[dict], programs=None) -> tuple[list[str], "StepRenderer"]:
    r = StepRenderer(trace)
    r.programs = programs or {}
    index = {id(s): i for i, s in enumerate(trace.get("steps", []))}
    r.needed_values = _referenced(steps)
    r.used_answers = _answers_used(steps)
    r.child_lines = {s.get("on") for s in steps if s.get("op") == "child.wait_line"}
    body = []
    for s in steps:       # a start folded with its ready wait has the start's index
        body += r.step(index.get(id(s.get("folded_from", s)), 0), s)
    body += [line for line, _ in r.pending.values()]      # answers still to be read
    return _unused_names_dropped(body), r


def _unused_names_dropped(body: list[str]) -> list[str]:
    """Lines without the names nothing reads (``P2 = a1.pid()`` of a pid no
    step uses, ``a3 = ...`` of an answer no check looks at)."""
    out = list(body)
    for i in range(len(out) - 1, -1, -1):
        m = re.match(r"^(\w+) = (.*)$", out[i])
        if not m:
            continue
        name = m.group(1)
        used = any(re.search(rf"\b{name}\b", line) for j, line in enumerate(out) if j != i)
        if not used:
            if re.fullmatch(r"\w+\.pid\(\d*\)", m.group(2)):
                del out[i]
            elif re.match(r"[a-z]\d+$", name) and "(" in m.group(2):     # a shell's answer unread:
                out[i] = re.sub(r"^Answer\((\w+), ", r"\1.command(", m.group(2))   # its command
    return out
