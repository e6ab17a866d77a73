'''The code a generated reproducer carries: small blocks of standard
library, pexpect, psutil and pycapnp code that replay the harness's steps
(conformance/repro/generate.py picks only the blocks a trace uses, so a
script stays short).

Why text and not a module: the script must run where this project is not
installed, so it cannot import anything of it. Each block restates, in a few
lines, what its harness counterpart does (harness/roles.py, shell_driver.py,
verifiers.py) in the way a maintainer upstream would write it by hand; the
tests of tests/repro hold the two to the same verdicts.
'''

CORE = r'''
def fail(expected, seen):
    raise AssertionError(f"expected {expected}; seen {seen}")


class Run:
    """A trial: its folder, and the processes it starts (in sessions close() kills)."""
    def __init__(self):
        self.pids, self.clients, self.tmp = [], [], tempfile.mkdtemp(prefix="repro-", dir="/tmp")
    def argv(self, role, **values):
        values = {**PROGRAMS, **values}
        return [re.sub(r"\{(\w+)\}", lambda m: str(values.get(m[1], m[0])), a) for a in ARGV[role]]
    def close(self):
        for pid in self.pids:
            with contextlib.suppress(OSError):      # ended and reaped already
                os.killpg(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
        shutil.rmtree(self.tmp, ignore_errors=True)
'''

PROCS = r'''
def exited(pid, timeout):
    """Whether process ``pid`` exits within ``timeout`` (its pidfd turns readable)."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    ready = select.select([fd], [], [], timeout)[0]
    os.close(fd)
    return bool(ready)
'''

ZOMBIE = r'''

def zombie(pid):
    with contextlib.suppress(psutil.NoSuchProcess):
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    return False
'''

LINES = r'''
class Lines:
    """A pipe's lines, read on a thread as they come (the program never blocks on a full pipe)."""
    def __init__(self, pipe):
        self.lines, self.closed, self.cv = [], False, threading.Condition()
        threading.Thread(target=self._pump, args=(pipe,), daemon=True).start()
    def _pump(self, pipe):
        for raw in itertools.chain(pipe, [None]):
            with self.cv:
                self.lines += [raw.decode(errors="replace").rstrip("\n")] if raw else []
                self.closed = raw is None
                self.cv.notify_all()
    def wait(self, pattern, timeout, start=0):
        """The first line from ``start`` on that matches, None if none comes in time."""
        found = lambda: next((ln for ln in self.lines[start:] if re.search(pattern, ln)), None)
        with self.cv:
            self.cv.wait_for(lambda: self.closed or found() is not None, timeout)
            return found()
'''

SHELL = r'''
class Answer:
    """A shell's answer to ``line``: its result line, and the data and event lines before it."""
    def __init__(self, shell, line, timeout=TIMEOUT, sent=False):
        self.result, self.lines = shell.command(line, timeout, sent)
        self.ok = self.result.startswith("ok")
        self.events = [ln for ln in self.lines if ln.startswith("event ")]
    def pid(self, n=0):
        """The n-th pid the answer names (result line, then data lines)."""
        data = [ln for ln in self.lines if ln and not ln.startswith("event ")]
        return int(re.findall(r"\bpid=(\d+)", " ".join([self.result, *data]))[n])


class Shell:
    """The shell on a pty, beside links to the node: the children it spawns by name."""
    def __init__(self, run, names=("probe-child",), env=None, exe=None, datadir=None, **spawn):
        self.exe = exe = exe or tempfile.mkdtemp(dir=run.tmp)
        datadir = datadir or run.tmp
        for name in (n for n in names if not os.path.exists(os.path.join(exe, n))):
            os.symlink(PROGRAMS["node"], os.path.join(exe, name))
        shell = os.path.join(exe, os.path.basename(PROGRAMS["shell"]))
        os.symlink(PROGRAMS["shell"], shell)
        argv = run.argv("shell", shell=shell, datadir=datadir)
        env = {k: v for k, v in {**os.environ, **(env or {})}.items() if k != "PYTHONUNBUFFERED"}
        self.p = pexpect.spawn(argv[0], argv[1:], cwd=datadir, env=env, encoding="utf-8",
                               echo=False, codec_errors="replace", **spawn)
        self.p.delaybeforesend, self.pid, self.events, self.unread = None, self.p.pid, [], []
        run.pids.append(self.pid)
        self.read_to(re.escape(PROMPT), "the first prompt")
    def read_to(self, pattern, what, timeout=TIMEOUT):
        """Read up to ``pattern``: the lines before it (events noted)."""
        try:
            self.p.expect(pattern, timeout=timeout)
        except (pexpect.TIMEOUT, pexpect.EOF) as e:
            how = "the shell hangs" if isinstance(e, pexpect.TIMEOUT) else "the shell ended"
            fail(f"{what} within {timeout}s", f"{how}; last output {self.p.before[-200:]!r}")
        lines = [ln.removeprefix(PROMPT) for ln in self.p.before.replace("\r", "").split("\n")]
        self.events += [ln for ln in lines if ln.startswith("event ")]
        self.unread += [ln for ln in lines if ln.startswith("event ")]
        return lines
    def command(self, line, timeout=TIMEOUT, sent=False):
        """Send ``line`` (unless sent before); its answer: the result line, the lines before."""
        if not sent:
            self.p.sendline(line)
        lines = self.read_to(r"(?m)^(?:%s)*((?:ok|error)\b[^\r\n]*)\r?\n" % re.escape(PROMPT),
                             f"an answer to {line!r}", timeout)
        result = self.p.match.group(1)
        self.read_to(re.escape(PROMPT), f"the prompt after {result!r}", timeout)
        return result, lines
'''

STALL_CHILD = r'''

STALL_CHILD = """#!%s
# The suite's stalling probe child: it serves Init on -ipcfd N but never answers
# construct (a call to it stays in flight); it writes its pid to $REPRO_MARK then.
import asyncio, os, socket, sys
import capnp
async def main():
    here, name = os.environ["REPRO_SCHEMAS"], os.environ["REPRO_INIT"].split(":")
    module = capnp.load(os.path.join(here, name[0]), imports=[here, os.environ["REPRO_CAPNP"]])
    class Init(getattr(module, name[1]).Server):
        async def construct(self, **_):
            with open(os.environ["REPRO_MARK"], "w") as mark:
                mark.write(f"{os.getpid()}\\n")
            await asyncio.Event().wait()
    sock = socket.socket(fileno=int(sys.argv[sys.argv.index("-ipcfd") + 1]))
    stream = await capnp.AsyncIoStream.create_connection(sock=sock)
    await capnp.TwoPartyServer(stream, bootstrap=Init()).on_disconnect()
asyncio.run(capnp.run(main()))
""" % sys.executable
'''

DEAF_CHILD = r'''

DEAF_CHILD = """#!%s
# Stands in for the suite's deaf probe child: it shuts the read side of its
# -ipcfd socket (the parent's next write meets EPIPE), writes its pid to the
# FIFO $REPRO_MARK, and exits 0 once the parent closes its end.
import os, select, socket, sys
sock = socket.socket(fileno=int(sys.argv[sys.argv.index("-ipcfd") + 1]))
sock.shutdown(socket.SHUT_RD)
with open(os.environ["REPRO_MARK"], "w") as mark:
    mark.write(f"{os.getpid()}\\n")
poller = select.poll()
poller.register(sock, select.POLLHUP)
poller.poll(60000)
""" % sys.executable
'''

EXIT_CHILD = r'''

# Stands in for the suite's probe child that exits at once: it writes its pid
# to the FIFO $REPRO_MARK, then exits with the status given.
EXIT_CHILD = """#!/bin/sh
echo $$ > "$REPRO_MARK"
exit %d
"""
'''

SHELL_STANDIN = r'''

def stand_in(run, names, program):
    """A folder of ``program`` under ``names``, for the shell to spawn; the env it reads."""
    exe = tempfile.mkdtemp(dir=run.tmp)
    for name in names:
        with open(os.path.join(exe, name), "w") as f:
            f.write(program)
        os.chmod(os.path.join(exe, name), 0o755)
    os.mkfifo(mark := os.path.join(run.tmp, "marks"))
    run.marks = os.open(mark, os.O_RDWR | os.O_NONBLOCK)     # a reader, never an EOF
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), SCHEMAS)
    return exe, {"REPRO_MARK": mark, "REPRO_SCHEMAS": here, "REPRO_CAPNP": os.path.dirname(
        os.path.dirname(capnp.__file__)), "REPRO_INIT": f"{INIT_SCHEMA}:{INIT_INTERFACE}"}
def wait_mark(run, timeout=TIMEOUT):
    """The pid a stand-in child wrote to the FIFO once it got where it marks."""
    if not select.select([run.marks], [], [], timeout)[0]:
        fail(f"the spawned child's mark within {timeout}s", "none")
    return int(os.read(run.marks, 64).split()[0])
'''

SHELL_BAIT = r'''

def bait(fds, nofile=None):
    """In the shell's process before its exec: inheritable descriptors it was
    not meant to pass on (and, with ``nofile``, that soft RLIMIT_NOFILE)."""
    if nofile:
        resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, resource.getrlimit(
            resource.RLIMIT_NOFILE)[1]))
    for fd in fds:
        os.dup2(os.open("/dev/null", os.O_RDONLY), fd)
'''

SHELL_EXPECT = r'''
    def expect(self, event, timeout=TIMEOUT):
        while event not in self.unread:
            self.read_to(r"\r?\n", repr(event), timeout)
        self.unread.remove(event)
    def expect_event(self, pattern, timeout=TIMEOUT):
        """The first unread event line matching ``pattern``, read on until it comes."""
        while not (found := [e for e in self.unread if re.search(pattern, e)]):
            self.read_to(r"\r?\n", f"an event matching {pattern!r}", timeout)
        self.unread.remove(found[0])
        return found[0]
'''

SHELL_STAGE = r'''
    def stage(self, name, text):
        """An executable of this script's own beside the shell (spawn NAME runs it)."""
        with open(os.path.join(self.exe, name), "w") as f:
            f.write(text)
        os.chmod(os.path.join(self.exe, name), 0o755)
'''

SHELL_END = r'''
    def quit(self, timeout=TIMEOUT):
        self.p.sendline("quit")
        return self.wait_end(timeout, "quit")
    def wait_end(self, timeout=TIMEOUT, after="end of input"):
        """Read the shell's output to its end and reap it: its exit status
        (negative: the signal that ended it)."""
        self.read_to(pexpect.EOF, f"the end of the shell after {after}", timeout)
        self.p.wait()
        return -self.p.signalstatus if self.p.signalstatus else self.p.exitstatus
    def drain(self, timeout=TIMEOUT):
        """Read the shell's output to its end, if it ends within ``timeout``."""
        with contextlib.suppress(AssertionError, OSError, ValueError):
            self.read_to(pexpect.EOF, "the end of the shell", timeout)
    def alive(self):
        return self.p.isalive()
'''

FILES = r'''
def write_file(path, text):
    with open(path, "w") as f:
        f.write(text)
def stale_socket(path):
    """A socket file nobody listens on: bound, then closed."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    s.close()
def listening_socket(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    s.listen(1)
    return s
'''

SS = r'''
def check_backlog(path, count, why=""):
    """``count`` clients waiting in the accept queue of the listener at ``path`` (ss)."""
    out = subprocess.run(["ss", "-xnlH"], capture_output=True, text=True, check=True).stdout
    queues = [int(f[2]) for f in map(str.split, out.splitlines()) if len(f) >= 6 and f[4] == path]
    if queues != [count]:
        fail(f"{count} client(s) in the accept queue of {path}" + (f" ({why})" if why else ""),
             queues[0] if queues else "nothing listening there")
'''

SOCK = r'''
def ended_by_peer(sock, timeout=TIMEOUT):
    """Whether the other side ends the connection (EOF or reset) within ``timeout``."""
    end = time.monotonic() + timeout
    while select.select([sock], [], [], max(0, end - time.monotonic()))[0]:
        try:
            if sock.recv(65536) == b"":
                return True
        except (ConnectionResetError, BrokenPipeError):
            return True
    return False
'''

LIMITS = r'''
LIMITS = {}       # pid -> the RLIMIT_NOFILE it had before exhaust() or set_nofile()
def exhaust(pid, spare=0):
    """Let ``pid`` make only ``spare`` more descriptors (its lowest free one + ``spare``)."""
    used = {int(n) for n in os.listdir(f"/proc/{pid}/fd")}
    set_nofile(pid, min(set(range(len(used) + 1)) - used) + spare)
def set_nofile(pid, soft):
    hard = resource.prlimit(pid, resource.RLIMIT_NOFILE)[1]
    LIMITS[pid] = resource.prlimit(pid, resource.RLIMIT_NOFILE, (soft, hard))    # the old one
def restore(pid):
    resource.prlimit(pid, resource.RLIMIT_NOFILE, LIMITS.pop(pid))
'''

PROC = r'''
def start(run, argv, env=None, cwd=None, pass_fds=()):
    """A program of the implementation started by this script, its output read."""
    p = subprocess.Popen(argv, env={**os.environ, **(env or {})}, cwd=cwd or run.tmp,
                         pass_fds=pass_fds, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, start_new_session=True)
    run.pids.append(p.pid)
    p.out, p.err = Lines(p.stdout), Lines(p.stderr)
    return p
def wait_output(lines, pattern, timeout=TIMEOUT, start=0):
    """The first line of a program's output matching ``pattern`` (from ``start`` on)."""
    line = lines.wait(pattern, timeout, start)
    if line is None:
        fail(f"a line matching {pattern!r} within {timeout}s", f"none ({lines.lines[-5:]})")
    return line
def wait(p, timeout=TIMEOUT):
    try:
        return p.wait(timeout)
    except subprocess.TimeoutExpired:
        fail(f"pid {p.pid} ({p.args[0]}) to exit within {timeout}s", "it still runs")
'''

FDS = r'''
O_CLOEXEC = 0o2000000
def fd_flags(pid, fd):
    with open(f"/proc/{pid}/fdinfo/{fd}") as f:
        return int(re.search(r"flags:\s*(\d+)", f.read()).group(1), 8)
def inherited(pid):
    """The descriptors ``pid`` holds that are not close-on-exec (what it inherited
    and still holds: the suite's probe child records them at its exec instead).
    One it closes while we read is not held: skipped."""
    held = {}
    for fd in os.listdir(f"/proc/{pid}/fd"):
        with contextlib.suppress(FileNotFoundError):
            if not fd_flags(pid, fd) & O_CLOEXEC:
                held[int(fd)] = os.readlink(f"/proc/{pid}/fd/{fd}")
    return held
'''

MAIN = r'''

def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    for name, path in PROGRAMS.items():
        parser.add_argument(f"--{name}", default=path, help=f"the {name} program ({path})")
    parser.add_argument("--trials", type=int, default=TRIALS, help="replay up to N times")
    PROGRAMS.update(vars(parser.parse_args()))
    trials = PROGRAMS.pop("trials")
    for trial in range(1, trials + 1):
        run = Run()
        try:
            steps(run)
        except AssertionError as e:
            where = f" (trial {trial} of {trials})" if trials > 1 else ""
            print(f"requirement {REQUIREMENT}\nFAIL {CASE} against {IMPL}{where}: {e}")
            return 1
        finally:
            run.close()
    print(f"PASS {CASE} against {IMPL}")


if __name__ == "__main__":
    sys.exit(main())
'''
