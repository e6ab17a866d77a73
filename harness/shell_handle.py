"""The handle on an implementation's shell, as cases use it
(docs/writing-cases.md): commands and their answers, typed events, the
children it spawned and the probe records they wrote. A module of its own
beside harness/roles.py (the child, listener and client handles) because the
shell is the one role a case talks to line by line."""
import glob
import json
import os
import re
import sys

from . import programs
from . import trace
from .shell_driver import ShellDriver
from .shell_events import CleanupRan, Disconnected, Event, Reaped, parse_event
from .staging import probe_env, stage_link, stage_probe
from .waits import Deadline, DirWatch, WaitTimeout


class ShellHandle:
    """The implementation's shell, staged next to the probe child."""

    def __init__(self, impl, procs, evidence, *, exe_dir, datadir, probe_names=("probe-child",),
                 probe_mode="serve", link_node_as=(), env=None, bait_fds=(), tty=True):
        self._evidence, self._procs = evidence, procs
        self.exe_dir, self.datadir = exe_dir, datadir
        self.record_dir = os.path.join(exe_dir, "records")
        os.makedirs(self.record_dir, exist_ok=True)
        for name in probe_names:
            stage_probe(exe_dir, name, impl.protocol)
        for name in link_node_as:              # the implementation's own node, by name
            stage_link(exe_dir, impl.executables["node"], name)
        shell_path = stage_link(exe_dir, impl.executables["shell"])
        full_env = {**os.environ, **probe_env(self.record_dir, impl.protocol.schema_dir,
                                               mode=probe_mode), **(env or {})}
        argv = impl.argv("shell", datadir=datadir)
        argv[0] = shell_path if argv[0] == impl.executables["shell"] else argv[0]
        argv = [shell_path if a == impl.executables["shell"] else a for a in argv]
        if bait_fds:
            argv = [sys.executable, "-c", programs.text("bait_exec.py"),
                    ",".join(map(str, bait_fds)), *argv]
        self.driver = ShellDriver(argv, env=full_env, cwd=datadir,
                                  prompt=impl.roles["shell"].prompt, tty=tty)
        self.pid = self.driver.pid
        procs.own(self.pid, "shell")
        evidence.append("processes", {"role": "shell", "pid": self.pid, "argv": argv})
        self.name = trace.name("sh")
        trace.root("tmp", datadir)
        trace.root(f"{self.name}.exe", exe_dir)
        trace.record("shell.start", on=self.name, pid=trace.pid(self.pid),
                     probe_names=list(probe_names), probe_mode=probe_mode,
                     link_node_as=list(link_node_as), env=env or {}, bait_fds=list(bait_fds),
                     tty=tty, argv=argv, datadir=datadir)

    @property
    def transcript(self):
        return self.driver.transcript

    def command(self, line, timeout=20):
        name = trace.name("a")
        answer = trace.call("shell.command", self.driver.command, line, timeout, on=self.name,
                            line=line, timeout=timeout, out=name, result=_answer_brief)
        answer.name = name
        for pid in _PID.findall(answer.result + " " + " ".join(answer.data)):
            trace.pid(pid)
        return answer

    def expect_event(self, pattern, timeout=10):
        return trace.call("shell.expect_event", self.driver.expect_event, pattern, timeout,
                          on=self.name, pattern=pattern, timeout=timeout)

    # -- typed events (harness.shell_events) --------------------------------

    def events(self) -> list[Event]:
        """Every event the shell wrote so far, typed; ``str()`` of each is its line."""
        return trace.Sourced(self.driver.typed_events, {"events": self.name})

    def transcript_events(self) -> list[Event]:
        """The events of the whole transcript, typed: also those in output
        read to the shell's end (``drain``, ``wait_end``) without a command.
        A line may follow a prompt (the shell wrote it while waiting for input)."""
        prompt, out = self.driver.prompt, []
        for line in self.transcript.split("\n"):
            while prompt and line.startswith(prompt):
                line = line[len(prompt):]
            if line.startswith("event "):
                out.append(parse_event(line))
        return trace.Sourced(out, {"events": self.name})

    def expect(self, event: Event, timeout=10) -> Event:
        """Wait for an unread event equal to ``event``; WaitTimeout names it
        and the events seen meanwhile."""
        return trace.call("shell.expect", self.driver.expect, event, timeout, on=self.name,
                          event=str(event), timeout=timeout, result=str)

    def expect_reaped(self, obj, pid, status=0, timeout=10) -> Event:
        """Wait for ``event reaped <obj> pid=<pid> status=<status>``."""
        return self.expect(Reaped(int(obj), int(pid), int(status)), timeout)

    def expect_disconnected(self, obj, timeout=10) -> Event:
        """Wait for ``event disconnected <obj>``."""
        return self.expect(Disconnected(int(obj)), timeout)

    def expect_cleanup(self, tag, timeout=10) -> Event:
        """Wait for ``event cleanup <tag> ran``."""
        return self.expect(CleanupRan(tag), timeout)

    # -- the shell process ----------------------------------------------------

    def alive(self) -> bool:
        """The shell still runs (one that ended is reaped here)."""
        return trace.call("shell.alive", self.driver.alive, on=self.name)

    def exit_status(self):
        """The shell's exit status once reaped (negative for a signal), else None."""
        return self.driver.status()

    def send_eof(self):
        """End of input on the shell's stdin."""
        trace.record("shell.send_eof", on=self.name)
        self.driver.send_eof()

    def wait_end(self, timeout=10, after="end of input") -> int:
        """Read the shell's output to its end and reap it: its exit status."""
        return trace.call("shell.wait_end", self.driver.wait_end, timeout, after, on=self.name,
                          timeout=timeout)

    def drain(self, timeout=10):
        """Read the shell's output to its end, if it ends within ``timeout``."""
        trace.record("shell.drain", on=self.name, timeout=timeout)
        self.driver.drain(timeout)

    def spawn(self, name="probe-child", timeout=20) -> tuple[int, int]:
        """Spawn by name; (object id, pid). Fails the case on an error answer."""
        a = self.command(f"spawn {name}", timeout)
        trace.check("answer_ok", a.ok, answer=a.name, what=f"spawn {name}",
                    expected="an ok answer", seen=a.result)
        assert a.ok, f"spawn {name} failed: {a.result}"
        obj, pid = a.words[2], int(a.words[3].partition("=")[2])
        self.adopt(pid, f"spawned {name}")
        return int(obj), pid

    def adopt(self, pid: int, label: str):
        """Watch a child the shell spawned: the case's process verdict reports
        its fate, and teardown kills it if the shell left it behind."""
        self._procs.adopt(pid, label)

    def connect(self, address, timeout=20) -> int:
        """``connect ADDRESS``; the object id. Fails the case on an error answer."""
        a = self.command(f"connect {address}", timeout)
        trace.check("answer_ok", a.ok, answer=a.name, what=f"connect {address}",
                    expected="an ok answer", seen=a.result)
        assert a.ok and len(a.words) > 2, f"connect {address} failed: {a.result}"
        return int(a.words[2])

    def probe_records(self, count=1, timeout=10) -> list[dict]:
        """Records written by probe children, waiting (inotify) until
        ``count`` of them exist."""
        step = trace.record("shell.probe_records", on=self.name, count=count, timeout=timeout)
        deadline = Deadline(timeout)
        with DirWatch(self.record_dir) as watch:
            while True:
                paths = sorted(glob.glob(os.path.join(self.record_dir, "*.json")))
                if len(paths) >= count:
                    break
                if deadline.expired():
                    raise WaitTimeout(f"{len(paths)} probe records of {count} within {timeout}s",
                                      seen={"records": paths, "transcript": self.transcript[-1500:]})
                watch.wait(deadline.left())
        records = []
        for p in paths:
            with open(p) as f:
                records.append(json.load(f))
        self._evidence.record("probe_records", [_brief_record(r) for r in records])
        if step is not None:
            step["result"] = [trace.pid(r["pid"]) for r in records]
        return records

    def stage(self, name: str, text: str) -> str:
        """An executable ``name`` of the case's own beside the shell (``spawn
        NAME`` runs it); its path."""
        trace.record("shell.stage", on=self.name, name=name, text=text)
        path = os.path.join(self.exe_dir, name)
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, 0o755)
        return path

    def wait_mark(self, pid: int, what: str, timeout=10):
        """Wait (inotify) until probe child ``pid`` marked that it reached
        ``what`` (``stalled``, ``deaf``: see harness/probe_child.py)."""
        trace.record("shell.wait_mark", on=self.name, pid=trace.pid(pid), what=what,
                     timeout=timeout)
        path = os.path.join(self.record_dir, f"{pid}.{what}")
        deadline = Deadline(timeout)
        with DirWatch(self.record_dir) as watch:
            while not os.path.exists(path):
                if deadline.expired():
                    raise WaitTimeout(f"probe child {pid} did not mark {what!r} within {timeout}s",
                                      seen={"transcript": self.transcript[-1500:]})
                watch.wait(deadline.left())

    def quit(self, timeout=30) -> int:
        return trace.call("shell.quit", self.driver.quit, timeout, on=self.name, timeout=timeout)

    def close(self):
        self._evidence.record("transcript", self.driver.transcript)
        self.driver.close()


_PID = re.compile(r"\bpid=(\d+)")


def _answer_brief(a) -> dict:
    return {"ok": a.ok, "result": a.result, "data": a.data, "events": a.events}


def _brief_record(r: dict) -> dict:
    return {"pid": r["pid"], "argv": r["argv"], "cwd": r["cwd"],
            "fds": {k: v["target"] + (" cloexec" if v["flags"] & 0o2000000 else "")
                    for k, v in r["fds"].items()},
            "signals": r["signals"], "pgid": r["pgid"], "sid": r["sid"]}
