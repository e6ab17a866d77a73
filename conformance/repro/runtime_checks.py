'''The checks a generated reproducer makes, one function per check of
harness/verifiers.py and the handles (keyed by the name the trace records),
each failing with what it expected and what it saw, in the words of its
harness counterpart (tests/repro hold the two to the same verdicts).'''

CHECKS = {
    "answer_ok": r'''
def check_ok(answer, what=""):
    if not answer.ok:
        fail(f"{what}: an ok answer" if what else "an ok answer", repr(answer.result))
''',
    "answer": r'''
def check_answer(answer, expected, what=""):
    if answer.result != expected:
        fail(f"{what}: {expected!r}" if what else repr(expected), repr(answer.result))
''',
    "answer_prefix": r'''
def check_error(answer, prefix, what=""):
    if answer.ok or not answer.result.startswith(prefix):
        fail((f"{what}: " if what else "") + f"an answer starting {prefix!r}", repr(answer.result))
''',
    "reaped": r'''
def check_reaped(events, obj, pid, status):
    want = f"event reaped {obj} pid={pid} status={status}"
    if want not in events:
        fail(repr(want), [e for e in events if e.startswith(f"event reaped {obj} ")] or events)
''',
    "gone": r'''
def check_gone(pid, what, timeout=TIMEOUT):
    if not exited(pid, timeout):
        fail(f"pid {pid} {what} to exit within {timeout}s", "it still runs")
    if zombie(pid):
        fail(f"pid {pid} {what} exited and reaped", "a zombie (nobody reaped it)")
''',
    "exits": r'''
def check_exits(pid, what, timeout=TIMEOUT):
    if not exited(pid, timeout):
        fail(f"pid {pid} {what} to exit within {timeout}s", "it still runs")
''',
    "not_zombie": r'''
def check_not_zombie(pid, what):
    if zombie(pid):
        fail(f"pid {pid} {what} reaped or running", "a zombie (exited, never reaped)")
''',
    "no_zombies": r'''
def check_no_zombies(pids, what):
    if [p for p in pids if zombie(p)]:
        fail(f"no zombies {what}", f"zombies {[p for p in pids if zombie(p)]}")
''',
    "cleanups": r'''
def check_cleanups(events, tags, what=""):
    ran = [e.split()[2] for e in events if re.fullmatch(r"event cleanup \S+ ran", e)]
    if ran != tags:
        fail((f"{what}: " if what else "") + f"cleanups {tags} in that order", ran)
''',
    "events": r'''
def check_events(events, lines, what=""):
    if list(events) != lines:
        fail((f"{what}: " if what else "") + f"exactly {lines}", list(events))
''',
    "equal": r'''
def check_equal(seen, expected, what):
    if seen != expected:
        fail(f"{what}: {expected!r}", repr(seen))
''',
    "contains": r'''
def check_contains(seen, part, what):
    if seen is None or part not in seen:
        fail(f"{what}: a text containing {part!r}", repr(seen))
''',
    "alive": "",          # Listener.check_alive
    "signals_default": r'''
def check_signals_default(path, sigs, what=""):
    """``sigs`` neither ignored nor blocked, by the Sig* lines of /proc/PID/status in ``path``."""
    masks = dict(ln.split(":", 1) for ln in open(path).read().splitlines())
    off = [f"{signal.Signals(s).name} {how}" for s in sigs for how, key in (
        ("ignored", "SigIgn"), ("blocked", "SigBlk")) if int(masks[key], 16) >> (s - 1) & 1]
    if off:
        fail(f"{what}: {[signal.Signals(s).name for s in sigs]} neither ignored nor blocked",
             "it starts with " + ", ".join(off))
''',
    "not_equal": r'''
def check_not_equal(seen, unwanted, what):
    if seen == unwanted:
        fail(f"{what}: anything but {unwanted!r}", repr(seen))
''',
    "exact_fds": r'''
def check_exact_fds(pid, fds):
    extra = {fd: t for fd, t in inherited(pid).items() if fd not in fds}
    if extra:
        fail(f"child pid {pid}: exactly descriptors {fds}", f"more: {extra}")
''',
    "fds_absent": r'''
def check_fds_absent(pid, fds, target=None, what="descriptors"):
    found = {fd: t for fd, t in inherited(pid).items() if fd in fds and target in (None, t)}
    if found:
        fail(f"none of {what} {fds} in the child", f"{found} reached child pid {pid}")
''',
    "parent_end_cloexec": r'''
def check_parent_end_cloexec(shell, child):
    args = psutil.Process(child).cmdline()
    mine = os.readlink(f"/proc/{child}/fd/{args[args.index('-ipcfd') + 1]}")[8:-1]
    out = subprocess.run(["ss", "-xnH"], capture_output=True, text=True, check=True).stdout
    peer = next((f[7] for f in map(str.split, out.splitlines()) if len(f) > 7 and f[5] == mine), 0)
    ends = [fd for fd in os.listdir(f"/proc/{shell}/fd")
            if os.readlink(f"/proc/{shell}/fd/{fd}") == f"socket:[{peer}]"]
    if not ends:
        fail(f"the shell holding an end of child pid {child}'s socket", "none")
    if fd_flags(shell, ends[0]) & O_CLOEXEC == 0:
        fail("the shell's end of the child's socketpair close-on-exec", f"fd {ends[0]} inheritable")
''',
    "running": r'''
def check_running(pids, what=""):
    if [p for p in pids if not psutil.pid_exists(p)]:
        fail((f"{what}: " if what else "") + f"pids {pids} still there",
             f"{[p for p in pids if not psutil.pid_exists(p)]} gone")
''',
    "exit_status": r'''
def check_exit(p, status=None, nonzero=False, what=""):
    if (p.returncode == 0) if nonzero else (p.returncode != status):
        fail((f"{what}: " if what else "")
             + ("a non-zero exit status" if nonzero else f"exit status {status}"), p.returncode)
''',
    "stderr_contains": r'''
def check_stderr(p, text, what=""):
    if p.err.wait(re.escape(text), TIMEOUT) is None:
        fail((f"{what}: " if what else "") + f"{text!r} on stderr", p.err.lines[-5:])
''',
    "cleanup_count": r'''
def check_cleanup_count(events, tag, count, what=""):
    ran = events.count(f"event cleanup {tag} ran")
    if ran != count:
        fail(f"cleanup {tag} run {count} time(s)", f"{ran}: {events}")
''',
    "ids_grow": r'''
def check_ids_grow(answers, what):
    ids = [int(a.result.split()[2]) for a in answers]
    if not (all(i > 0 for i in ids) and ids == sorted(set(ids))):
        fail(f"{what}: positive ids, each greater than the last", ids)
''',
    "backlog": "",        # check_backlog: the SS block (conformance/repro/runtime.py)
    "fds_at_most": r'''
def count_fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def check_fds_at_most(pid, before, what):
    if count_fds(pid) > before:
        fail(f"{what}: at most {before} descriptors", count_fds(pid))
''',
    "file": r'''
def check_file(path, kind, content=None, link_to=None, what=""):
    want = f"{what or path} a {kind} file" + (f" holding {content!r}" if content else "") \
        + (f" linking to {link_to}" if link_to else "")
    if not os.path.lexists(path):
        fail(want, "it missing")
    test = {"regular": stat.S_ISREG, "socket": stat.S_ISSOCK, "symlink": stat.S_ISLNK,
            "directory": stat.S_ISDIR}[kind]
    if not test(os.lstat(path).st_mode):
        fail(want, f"another kind of file (mode {oct(os.lstat(path).st_mode)})")
    if content is not None and open(path).read() != content:
        fail(want, f"it holding {open(path).read()!r}")
    if link_to is not None and os.readlink(path) != link_to:
        fail(want, f"it linking to {os.readlink(path)}")
''',
    "no_file": r'''
def check_no_file(path, what=""):
    if os.path.lexists(path):
        fail(f"nothing at {path}" + (f" ({what})" if what else ""),
             f"a file there (mode {oct(os.lstat(path).st_mode)})")
''',
}
