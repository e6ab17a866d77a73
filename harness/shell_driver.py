"""Driving an implementation's shell (docs/programs.md section 2) with pexpect.

By default the shell runs in a pty of its own session, as a person would run
it. With ``tty=False`` it runs on pipes, still in a session of its own, as a
daemon would: a case about the parent dying needs that, because the death of
a pty's session leader sends SIGHUP to everything in the foreground group,
children included, which hides whether they would have left on EOF.
The environment is given explicitly, without PYTHONUNBUFFERED, so a shell
that forgets to flush its prompt times out here instead of passing by luck."""
import io
import os
import re
import signal
from dataclasses import dataclass, field

import pexpect
from pexpect.popen_spawn import PopenSpawn

from .shell_events import Event, parse_event
from .trace import Sourced
from .deferred_signals import deferred
from .waits import Deadline, WaitTimeout, blocked, wait_pid_exit

_LINE = re.compile(r"([^\r\n]*)\r?\n")


@dataclass
class Answer:
    ok: bool
    result: str                  # the whole result line
    data: list = field(default_factory=list)
    events: list = field(default_factory=list)       # the event lines, as written
    name: str | None = None      # its name in the case's trace (harness.trace), if traced

    @property
    def words(self) -> list[str]:
        return self.result.split()

    @property
    def typed_events(self) -> list[Event]:
        """The events of this answer as typed values (harness.shell_events)."""
        return Sourced((parse_event(e) for e in self.events),
                       {"answer": self.name} if self.name else None)


class ShellDriver:
    def __init__(self, argv, *, env, cwd=None, prompt="ipc> ", timeout=20, tty=True):
        self.prompt = prompt
        self.events: list[str] = []          # every event line seen so far
        self.typed_events: list[Event] = []  # the same, parsed (harness.shell_events)
        self._unread_events: list[Event] = []
        self._log = io.StringIO()
        clean_env = {k: v for k, v in env.items() if k != "PYTHONUNBUFFERED"}
        # An interrupt in the middle of the spawn would leave a half-made pty
        # object (its __del__ then fails on the run's output): held to the end.
        with deferred():
            if tty:
                self.child = pexpect.spawn(argv[0], list(argv[1:]), env=clean_env, cwd=cwd,
                                           encoding="utf-8", echo=False, timeout=timeout,
                                           codec_errors="replace")
            else:
                self.child = PopenSpawn(list(argv), env=clean_env, cwd=cwd, encoding="utf-8",
                                        timeout=timeout, codec_errors="replace",
                                        preexec_fn=os.setsid)
        self.child.logfile_read = self._log
        # pexpect sleeps 50 ms before every send by default (for programs
        # that drop input sent before they read); a shell of docs/programs.md
        # reads a line whenever it is sent, and the sleep would cost the
        # suite seconds. The close delays are sleeps too (0.1 s per shell,
        # in ptyprocess's close, which pexpect's own attributes do not
        # reach): close() instead waits for the killed shell's exit on a
        # pidfd, then reaps it.
        self.child.delaybeforesend = None
        self.child.delayafterclose = self.child.delayafterterminate = 0
        if hasattr(self.child, "ptyproc"):
            self.child.ptyproc.delayafterclose = self.child.ptyproc.delayafterterminate = 0
        self.pid = self.child.pid
        self._expect_prompt(timeout, "the first prompt")

    @property
    def transcript(self) -> str:
        return self._log.getvalue().replace("\r\n", "\n")

    def _seen(self):
        return {"transcript_tail": self.transcript[-2000:]}

    def _expect_raw(self, pattern, timeout):
        """pexpect's expect, counted as waiting on an event (harness.waits)."""
        with blocked():
            return self.child.expect(pattern, timeout=timeout)

    def _expect_prompt(self, timeout, what):
        try:
            with blocked():
                self.child.expect_exact(self.prompt, timeout=timeout)
        except pexpect.TIMEOUT:
            raise WaitTimeout(f"shell pid {self.pid}: no prompt {self.prompt!r} within "
                              f"{timeout}s after {what}", seen=self._seen()) from None
        except pexpect.EOF:
            raise WaitTimeout(f"shell pid {self.pid} ended before {what}",
                              seen=self._seen()) from None
        self._take_events(self.child.before)

    def _take_events(self, text):
        for line in (text or "").replace("\r", "").split("\n"):
            if line.startswith("event "):
                self._event(line)

    def _event(self, line):
        event = parse_event(line)
        self.events.append(line)
        self.typed_events.append(event)
        self._unread_events.append(event)

    def command(self, line: str, timeout: float = 20) -> Answer:
        """Send one command; collect its data and event lines up to the
        ok/error result line, then wait for the prompt."""
        self.child.sendline(line)
        answer = Answer(False, "")
        deadline = Deadline(timeout)
        while True:
            try:
                self._expect_raw(_LINE, timeout=deadline.left())
            except pexpect.TIMEOUT:
                raise WaitTimeout(f"shell pid {self.pid}: no answer to {line!r} within "
                                  f"{timeout}s", seen=self._seen()) from None
            except pexpect.EOF:
                raise WaitTimeout(f"shell pid {self.pid} ended while answering {line!r}",
                                  seen=self._seen()) from None
            text = self.child.match.group(1)
            if text.startswith(self.prompt):      # a stray prompt before the line
                text = text[len(self.prompt):]
            if text.startswith("event "):
                self._event(text)
                answer.events.append(text)
            elif text.startswith("ok") or text.startswith("error"):
                answer.ok = text.startswith("ok")
                answer.result = text
                break
            elif text:
                answer.data.append(text)
        self._expect_prompt(deadline.left() or 1, f"the answer to {line!r}")
        return answer

    def expect_event(self, pattern: str, timeout: float = 10) -> str:
        """The first unread event line matching ``pattern``; reads on until
        one arrives or the deadline passes."""
        rx = re.compile(pattern)
        return str(self._expect(lambda ev: rx.search(str(ev)), timeout,
                                f"no event matching {pattern!r}"))

    def expect(self, wanted: Event, timeout: float = 10) -> Event:
        """The first unread event equal to ``wanted`` (a typed event:
        ``Reaped(1, 4242, 0)``); on timeout the message names it and the
        events seen meanwhile."""
        return self._expect(lambda ev: ev == wanted, timeout, f"no event {str(wanted)!r}",
                            show_unread=True)

    def _expect(self, matches, timeout, what, show_unread=False) -> Event:
        deadline = Deadline(timeout)
        while True:
            for ev in self._unread_events:
                if matches(ev):
                    self._unread_events.remove(ev)
                    return ev
            try:
                self._expect_raw(_LINE, timeout=deadline.left())
            except (pexpect.TIMEOUT, pexpect.EOF) as e:
                seen = self._seen()
                if show_unread:
                    seen["unread_events"] = [str(ev) for ev in self._unread_events]
                ended = " (the shell ended)" if isinstance(e, pexpect.EOF) and show_unread else ""
                raise WaitTimeout(f"shell pid {self.pid}: {what} within {timeout}s{ended}",
                                  seen=seen) from None
            text = self.child.match.group(1)
            if text.startswith(self.prompt):
                text = text[len(self.prompt):]
            if text.startswith("event "):
                self._event(text)

    def quit(self, timeout: float = 20) -> int:
        """Send quit, expect 'ok bye' and the end; return the exit status."""
        answer_seen = False
        self.child.sendline("quit")
        deadline = Deadline(timeout)
        try:
            while True:
                i = self._expect_raw([_LINE, pexpect.EOF], timeout=deadline.left())
                if i == 1:
                    break
                text = self.child.match.group(1)
                if text.startswith(self.prompt):
                    text = text[len(self.prompt):]
                if text.startswith("event "):
                    self._event(text)
                elif text.startswith("ok bye"):
                    answer_seen = True
        except pexpect.TIMEOUT:
            raise WaitTimeout(f"shell pid {self.pid} did not end within {timeout}s of quit",
                              seen=self._seen()) from None
        with blocked():
            self.child.wait()
        if not answer_seen:
            raise AssertionError(f"shell ended without 'ok bye': {self.transcript[-500:]}")
        return self.status()

    def send_eof(self):
        """End of input on the shell's stdin."""
        self.child.sendeof()

    def wait_end(self, timeout: float, after: str) -> int:
        """Read the shell's output to its end and reap it; its exit status.
        WaitTimeout (naming ``after``) if it is still running at the deadline."""
        try:
            self._expect_raw(pexpect.EOF, timeout=timeout)
        except pexpect.TIMEOUT:
            raise WaitTimeout(f"shell pid {self.pid} still running {timeout}s after {after}",
                              seen={"transcript_tail": self.transcript[-1500:]}) from None
        with blocked():
            self.child.wait()
        return self.status()

    def drain(self, timeout: float = 10):
        """Read the shell's output to its end, if it ends within ``timeout``."""
        try:
            self._expect_raw(pexpect.EOF, timeout=timeout)
        except (pexpect.TIMEOUT, pexpect.EOF, OSError, ValueError):
            pass

    def alive(self) -> bool:
        if isinstance(self.child, PopenSpawn):
            if self.child.proc.poll() is None:
                return True
            self.child.wait()                # sets exitstatus / signalstatus
            return False
        return self.child.isalive()

    def status(self):
        if self.child.signalstatus is not None:
            return -self.child.signalstatus
        return self.child.exitstatus

    def close(self):
        """Kill what remains of the shell's session and reap it."""
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            if isinstance(self.child, PopenSpawn):
                self.child.proc.wait(10)
                for pipe in (self.child.proc.stdin, self.child.proc.stdout):
                    pipe.close()
            else:
                # Exited (a zombie, not yet reaped) before the pty's close
                # looks, or it would find the shell alive and go through its
                # own terminate sequence. Not once reaped: the pid may be
                # another process's by then.
                if not self.child.terminated:
                    wait_pid_exit(self.pid, 10)
                self.child.close(force=True)
        except Exception:
            pass
