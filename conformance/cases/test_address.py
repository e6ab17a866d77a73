"""ADDR: the address grammar, bind and connect rules, reached from outside:
through the shell's ``listen`` / ``connect`` commands (``error
invalid-argument: <message>``, ``error system <ERRNO>: ...``) and the node's
``-ipcbind`` (``Error: <message>`` on stderr, non-zero exit).

Every distinct upstream error text is checked word for word; a right error
class with other words is a NON-STRICT pass, a wrong class a failure."""
import os
import re
import socket

from ipc_conformance.conformance.case import case
from ipc_conformance.harness.capnp_peer import Client
from ipc_conformance.harness.files import (assert_file, assert_no_file, listening_socket,
                                           make_dir, remove_dir, stale_socket, symlink,
                                           write_file)
from ipc_conformance.harness.processes import ImplementationCrashed

from ipc_conformance.harness.verifiers import (assert_answer, assert_backlog, assert_contains,
                                               assert_equal, assert_error, assert_not_equal,
                                               assert_ok)

MISSING_PATH = ("Missing unix socket path before socket options; "
                "use unix::<options> for the default path")
EMPTY_OPTION = "Empty socket option"
MISSING_VALUE = "Missing value for max-connections option"


def _too_long(path):
    return f'Unix address path "{path}" exceeded maximum socket path length'


def _padded(directory, length):
    """An absolute path of exactly ``length`` bytes inside ``directory``."""
    head = os.fsencode(directory) + b"/"
    path = os.fsdecode(head + b"s" * (length - len(head)))
    assert len(os.fsencode(path)) == length
    return path


def _arg(address):
    return '""' if address == "" else address


def _message(result, cls):
    """The message of an ``error <cls>: <message>`` line (None for another class)."""
    prefix = f"error {cls}: "
    return result[len(prefix):] if result.startswith(prefix) else None


def _check_errors(sh, command, rows, evidence):
    """Each row (address, upstream message) must be an invalid-argument
    error; other wording is collected and makes the pass NON-STRICT."""
    differ = []
    for address, expected in rows:
        a = sh.command(f"{command} {_arg(address)}")
        got = _message(a.result, "invalid-argument")
        assert got is not None, (f"{command} {address!r}: expected an invalid-argument error "
                                 f"({expected!r}), got {a.result!r}")
        if got != expected:
            differ.append({"address": address, "expected": expected, "got": got})
    evidence.record("checked", [r[0] for r in rows])
    if differ:
        evidence.record("wording_differs", differ)
        evidence.non_strict(f"{len(differ)} of {len(rows)} messages are not upstream's words: "
                            + "; ".join(f"{d['address']!r}: {d['got']!r}" for d in differ))


def _probe_path(peer, schemas, path):
    """Connect to ``path`` as a suite client and run the probe; closed after."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    client = peer.run(Client(schemas).connect_sock, s)
    try:
        return peer.run(client.probe)
    finally:
        peer.run(client.close)


def _listening(sh, address, path):
    a = sh.command(f"listen {address}")
    assert_answer(a, f"ok listening unix:{path}", f"listen {address}: {a.result}")
    assert_file(path, "socket")


def _stale_socket(path):
    """A socket file nobody listens on: bound, then closed."""
    stale_socket(path)


def _ready(handle, timeout=20):
    """Wait for a listener started with wait_ready=False; its full path."""
    role = handle.impl.roles["listener"]
    m = handle.line_within(role.ready_pattern, timeout)
    if m is None:
        raise AssertionError(f"the node did not announce its listener: "
                             f"{handle.stderr_text()[-400:]}")
    address = m.groupdict().get("address") or ""
    assert address.startswith("unix:"), f"announced {address!r}, not unix:<full path>"
    handle.address, handle.path = address, address[len("unix:"):]
    return handle.path


# ---------------------------------------------------------------- valid forms

@case("ADDR-001", "REQ-ADDR-2", roles=("listener",), needs=("libmultiprocess",))
def test_unix_is_the_default_socket(listener, short_tmp):
    """-ipcbind=unix listens on <datadir>/<default socket name> and announces that full path."""
    node = listener(address="unix")
    expected = os.path.join(short_tmp, node.impl.roles["listener"].default_socket)
    assert node.path == expected, f"announced {node.address}, expected unix:{expected}"
    assert_file(expected, "socket")
    assert_contains(node.connect().probe(), "probe", 'a probe')


@case("ADDR-002", "REQ-ADDR-2", roles=("listener",), needs=("libmultiprocess",))
def test_relative_path_is_under_the_datadir(procs, impl, peer, schemas, short_tmp):
    """-ipcbind=unix:<relative> binds under -datadir, not under the working directory."""
    datadir = os.path.join(short_tmp, "dd")
    make_dir(datadir)
    argv = impl.argv("listener", address="unix:rel.sock", datadir=datadir)
    node = procs.start(argv, env=dict(os.environ), cwd=short_tmp, label="listener")
    m = node.wait_line(impl.roles["listener"].ready_pattern, 20)
    expected = os.path.join(datadir, "rel.sock")
    assert m.groupdict().get("address", f"unix:{expected}") == f"unix:{expected}", m.group(0)
    assert_no_file(os.path.join(short_tmp, "rel.sock"),
                   "a relative address bound under the working directory")
    assert_contains(_probe_path(peer, schemas, expected), "probe", 'a probe')


@case("ADDR-003", "REQ-ADDR-2", roles=("shell",), needs=("libmultiprocess",))
def test_absolute_path_is_taken_as_is(shell, peer, schemas, short_tmp):
    """listen unix:/<absolute> binds exactly that path, whatever the datadir."""
    make_dir(os.path.join(short_tmp, "elsewhere"))
    path = os.path.join(short_tmp, "elsewhere", "abs.sock")
    sh = shell()
    _listening(sh, f"unix:{path}", path)
    assert_contains(_probe_path(peer, schemas, path), "probe", 'a probe')


@case("ADDR-004", "REQ-ADDR-4", roles=("listener",), needs=("libmultiprocess",),
      conditions=("at-limit",))
def test_options_on_the_node(listener, short_tmp):
    """unix:, unix::max-connections=1 and unix:a:b.sock:max-connections=2 (options after the last ':') bind the right paths, the limit applied."""
    dirs = {name: os.path.join(short_tmp, name) for name in ("a", "b", "c")}
    for d in dirs.values():
        make_dir(d)
    nodes = {
        "a": listener(address="unix:", datadir=dirs["a"], wait_ready=False),
        "b": listener(address="unix::max-connections=1", datadir=dirs["b"], wait_ready=False),
        # Only the text after the last ':' is options: the path is "a:b.sock".
        "c": listener(address="unix:a:b.sock:max-connections=2", datadir=dirs["c"],
                      wait_ready=False),
    }
    default = nodes["a"].impl.roles["listener"].default_socket
    assert_equal(_ready(nodes["a"]), os.path.join(dirs["a"], default), "the path bound for unix:")
    assert_equal(_ready(nodes["b"]), os.path.join(dirs["b"], default),
                 "the path bound for unix::max-connections=1")
    assert_equal(_ready(nodes["c"]), os.path.join(dirs["c"], "a:b.sock"),
                 "the path bound for unix:a:b.sock:max-connections=2")
    first, second = nodes["b"].connect(), nodes["b"].connect()
    assert_contains(first.round_trip(), "probe", 'a probe')     # the listener's turn
    assert_backlog(nodes["b"].path, 1, "max-connections=1 after unix:: was not applied")
    first.close()
    assert_contains(second.probe(), "probe", 'a probe')
    assert_contains(nodes["c"].connect().probe(), "probe", 'a probe')


# ---------------------------------------------------------------- grammar errors

@case("ADDR-005", "REQ-ADDR-1", roles=("shell",))
def test_unrecognized_addresses(shell, evidence):
    """Anything but unix / unix:<path> is 'Unrecognized address' (invalid-argument), on listen and connect."""
    sh = shell()
    rows = [(a, f"Unrecognized address '{a}'")
            for a in ("tcp:127.0.0.1:1", "unixx", "UNIX", "/tmp/s.sock", "unix/s.sock")]
    # Only a unix: address has options: anything else is left whole, then unrecognized.
    listen_only = [("", "Unrecognized address ''"),
                   ("tcp:1:max-connections=2", "Unrecognized address 'tcp:1:max-connections=2'")]
    _check_errors(sh, "listen", rows + listen_only, evidence)
    _check_errors(sh, "connect", rows, evidence)


@case("ADDR-006", "REQ-ADDR-4", roles=("shell",))
def test_options_without_a_path(shell, evidence):
    """Options with no ':' after unix: (unix:max-connections=2, unix:a,b) are the 'Missing unix socket path' error."""
    sh = shell()
    rows = [(a, MISSING_PATH) for a in ("unix:max-connections=2", "unix:max-connections=8",
                                        "unix:max-connections=2,max-connections=3", "unix:a,b",
                                        "unix:backlog=5")]
    _check_errors(sh, "listen", rows, evidence)


@case("ADDR-007", "REQ-ADDR-4", roles=("shell",))
def test_empty_options(shell, short_tmp, evidence):
    """An empty option (',,', a leading or trailing ',') is 'Empty socket option'; nothing after the last ':' (unix::, unix:<path>:) is part of the path."""
    p = f"{short_tmp}/e.sock"
    sh = shell()
    rows = [(a, EMPTY_OPTION) for a in ("unix::,", "unix::,max-connections=1",
                                        f"unix:{p}:max-connections=1,",
                                        f"unix:{p}:,max-connections=1",
                                        f"unix:{p}:max-connections=1,,max-connections=2")]
    _check_errors(sh, "listen", rows, evidence)
    assert_no_file(p, "after the failed listen")
    # No options: "unix::" is the path ":" under the datadir, and a trailing
    # ':' stays in the path.
    _listening(sh, "unix::", os.path.join(sh.datadir, ":"))
    _listening(sh, f"unix:{p}:", f"{p}:")


@case("ADDR-008", "REQ-ADDR-4", roles=("shell",))
def test_max_connections_without_value(shell, short_tmp, evidence):
    """max-connections= with nothing after the '=' is 'Missing value for max-connections option'; a bare max-connections (unix::max-connections) is part of the path."""
    p = f"{short_tmp}/m.sock"
    sh = shell()
    rows = [(a, MISSING_VALUE) for a in (f"unix:{p}:max-connections=", "unix::max-connections=",
                                         f"unix:{p}:max-connections,max-connections=1")]
    _check_errors(sh, "listen", rows, evidence)
    assert_no_file(p, "after the failed listen")
    # Text after the last ':' with no '=' and no ',' is no option.
    _listening(sh, "unix::max-connections", os.path.join(sh.datadir, ":max-connections"))
    _listening(sh, f"unix:{p}:max-connections", f"{p}:max-connections")
    _listening(sh, "unix:max-connections", os.path.join(sh.datadir, "max-connections"))


@case("ADDR-009", "REQ-ADDR-4", roles=("shell",), conditions=("at-limit",))
def test_invalid_max_connections_values(shell, short_tmp, evidence):
    """A negative, non-numeric or out-of-int64 limit is "Invalid max-connections value '<v>'"; the largest int64 is a limit."""
    p = f"{short_tmp}/v.sock"
    sh = shell()
    rows = [(f"unix:{p}:max-connections={v}", f"Invalid max-connections value '{v}'")
            for v in ("-1", "two", "1.5", "0x10", "+3", "1=2", "-",
                      "-9223372036854775808", "9223372036854775808")]
    _check_errors(sh, "listen", rows, evidence)
    assert_no_file(p, "after the failed listen")
    for i, v in enumerate(("2147483647", "9223372036854775807")):
        _listening(sh, f"unix:{short_tmp}/big{i}.sock:max-connections={v}", f"{short_tmp}/big{i}.sock")


@case("ADDR-010", "REQ-ADDR-4", roles=("shell",))
def test_unknown_options(shell, short_tmp, evidence):
    """An option other than max-connections is "Unknown socket option '<name>'"."""
    p = f"{short_tmp}/u.sock"
    rows = [(f"unix:{p}:{o}", f"Unknown socket option '{n}'")
            for o, n in (("backlog=5", "backlog"), ("Max-Connections=2", "Max-Connections"),
                         ("mode=0600", "mode"), ("max-connections=8,unknown=1", "unknown"),
                         ("backlog,max-connections=1", "backlog"), ("=1", ""))]
    _check_errors(shell(), "listen", rows, evidence)


@case("ADDR-011", "REQ-ADDR-4", roles=("listener",))
def test_node_bind_errors(listener, short_tmp, evidence):
    """Each distinct bind error through -ipcbind: 'Error: <message>' on stderr, non-zero exit, nothing bound."""
    p = f"{short_tmp}/n.sock"
    long_path = _padded(short_tmp, 108)
    rows = [("tcp:127.0.0.1:1", "Unrecognized address 'tcp:127.0.0.1:1'"),
            ("unix:max-connections=2", MISSING_PATH),
            (f"unix:{p}:max-connections=1,", EMPTY_OPTION),
            (f"unix:{p}:max-connections=", MISSING_VALUE),
            (f"unix:{p}:max-connections= 2", "Invalid max-connections value ' 2'"),
            (f"unix:{p}:backlog=5", "Unknown socket option 'backlog'"),
            (f"unix:{long_path}", _too_long(long_path))]
    started = [(listener(address=a, wait_ready=False), a, m) for a, m in rows]
    differ = []
    for node, address, message in started:
        status = node.wait_exit(20)
        if status < 0:
            raise ImplementationCrashed(f"-ipcbind={address}: killed by signal {-status}",
                                        stderr=node.stderr_text())
        assert_not_equal(status, 0, f"the exit status with -ipcbind={address}")
        if node.line_within("^" + re.escape(f"Error: {message}") + "$", 10,
                            stream="stderr") is None:
            text = node.stderr_text()
            assert text.strip(), f"-ipcbind={address}: exit {status} without a message on stderr"
            differ.append({"address": address, "expected": f"Error: {message}", "got": text[-300:]})
    left = [f for f in os.listdir(short_tmp) if f.startswith(os.path.basename(p))]
    assert not left, f"a failed -ipcbind left {left} in {short_tmp}"
    if differ:
        evidence.record("wording_differs", differ)
        evidence.non_strict(f"{len(differ)} of {len(rows)} stderr messages differ from upstream's")


# ---------------------------------------------------------------- sun_path

@case("ADDR-012", "REQ-ADDR-3", roles=("shell",), needs=("libmultiprocess",),
      conditions=("at-limit",))
def test_sun_path_limit_at_the_byte(shell, peer, schemas, short_tmp, evidence):
    """A 107-byte socket path works; 108 bytes is the 'exceeded maximum socket path length' error."""
    ok_path, long_path = _padded(short_tmp, 107), _padded(short_tmp, 108)
    sh = shell()
    _listening(sh, f"unix:{ok_path}", ok_path)
    assert_contains(_probe_path(peer, schemas, ok_path), "probe", 'a probe')
    _check_errors(sh, "listen", [(f"unix:{long_path}", _too_long(long_path))], evidence)
    assert_no_file(long_path)


@case("ADDR-013", "REQ-ADDR-10", roles=("shell",), conditions=("at-limit",))
def test_connect_checks_the_length_like_bind(shell, short_tmp, evidence):
    """connect resolves like bind: a 108-byte path is the same invalid-argument error, never a system error."""
    long_path = _padded(short_tmp, 108)
    sh = shell()
    rel = "r" * (108 - len(os.fsencode(sh.datadir)) - 1)
    rows = [(f"unix:{long_path}", _too_long(long_path)),
            (f"unix:{rel}", _too_long(os.path.join(sh.datadir, rel)))]
    _check_errors(sh, "connect", rows, evidence)


# ---------------------------------------------------------------- bind rules

@case("ADDR-014", "REQ-ADDR-5", roles=("shell",), needs=("libmultiprocess",))
def test_bind_makes_parent_directories(shell, peer, schemas, short_tmp):
    """Binding under directories that do not exist creates them (relative and absolute paths)."""
    sh = shell()
    rel = os.path.join(sh.datadir, "deep", "er", "r.sock")
    absolute = os.path.join(short_tmp, "abs", "x", "y", "a.sock")
    _listening(sh, "unix:deep/er/r.sock", rel)
    _listening(sh, f"unix:{absolute}", absolute)
    for path in (rel, absolute):
        assert os.path.isdir(os.path.dirname(path))
        assert_contains(_probe_path(peer, schemas, path), "probe", 'a probe')


@case("ADDR-015", "REQ-ADDR-6", roles=("listener",), needs=("libmultiprocess",))
def test_stale_socket_is_replaced(listener, short_tmp):
    """A stale socket file at the bind path is removed and replaced by a live listener."""
    path = f"{short_tmp}/stale.sock"
    _stale_socket(path)
    node = listener(address=f"unix:{path}", wait_ready=False)
    assert _ready(node) == path
    # A stale socket refuses connections: an answer means the file was replaced.
    assert_contains(node.connect().probe(), "probe", 'a probe')


def _bind_refused(sh, path, what):
    assert_error(sh.command(f"listen unix:{path}"), "error system EADDRINUSE", f"listen on {what}")


@case("ADDR-016", "REQ-ADDR-6", roles=("shell",))
def test_regular_file_is_kept(shell, short_tmp):
    """A regular file at the bind path is kept intact and the bind fails with EADDRINUSE."""
    path = f"{short_tmp}/plain"
    write_file(path, "keep me\n")
    _bind_refused(shell(), path, "a regular file")
    assert_file(path, "regular", content="keep me\n", what="the regular file at the bind path")


@case("ADDR-017", "REQ-ADDR-6", roles=("shell",))
def test_symlink_to_a_socket_is_not_followed(shell, short_tmp):
    """A symlink to a socket elsewhere is neither followed nor removed: bind fails with EADDRINUSE."""
    make_dir(f"{short_tmp}/other")
    target, link = f"{short_tmp}/other/target.sock", f"{short_tmp}/link.sock"
    _stale_socket(target)           # what an implementation following the link would remove
    live_path = f"{short_tmp}/other/live.sock"
    live = listening_socket(live_path)
    link2 = f"{short_tmp}/link2.sock"
    symlink(target, link)
    symlink(live_path, link2)
    try:
        sh = shell()
        for path, dest in ((link, target), (link2, live_path)):
            _bind_refused(sh, path, f"a symlink to a socket ({dest})")
            assert_file(path, "symlink", link_to=dest, what=f"the symlink {path}")
            assert_file(dest, "socket", what=f"the symlink's target {dest}")
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        probe.connect(live_path)     # the suite's own listener still owns its socket
        probe.close()
    finally:
        live.close()


@case("ADDR-018", "REQ-ADDR-6", roles=("shell",))
def test_symlink_to_a_file_is_not_followed(shell, short_tmp):
    """A symlink to a regular file is neither followed nor removed, the file untouched; bind fails with EADDRINUSE."""
    target, link = f"{short_tmp}/data.txt", f"{short_tmp}/flink.sock"
    write_file(target, "precious\n")
    symlink(target, link)
    _bind_refused(shell(), link, "a symlink to a regular file")
    assert_file(link, "symlink", link_to=target, what="the symlink, untouched")
    assert_file(target, "regular", content="precious\n", what="the symlink's target, unchanged")


# ---------------------------------------------------------------- connect

@case("ADDR-019", "REQ-ADDR-8", roles=("shell",))
def test_connect_empty_and_zero_are_null(shell):
    """connect "" and connect 0 answer 'ok null' and hold nothing."""
    sh = shell()
    for address in ('""', "0"):
        a = sh.command(f"connect {address}")
        assert_answer(a, "ok null", f"connect {address}: {a.result}")
    assert_answer(sh.command("list"), "ok list 0")


@case("ADDR-020", "REQ-ADDR-9", roles=("shell", "listener"))
def test_connect_auto_without_a_node_is_null(shell, impl):
    """connect auto answers 'ok null' when the default socket is missing and when it refuses (stale)."""
    sh = shell()
    path = os.path.join(sh.datadir, impl.roles["listener"].default_socket)
    assert_no_file(path)
    assert_answer(sh.command("connect auto"), "ok null", "connect auto, no socket file")
    _stale_socket(path)
    assert_answer(sh.command("connect auto"), "ok null", "connect auto, a socket nobody listens on")
    assert_answer(sh.command("list"), "ok list 0")


@case("ADDR-021", "REQ-ADDR-9", roles=("shell", "listener"), needs=("libmultiprocess",))
def test_connect_auto_finds_the_node(shell, listener, impl):
    """connect auto with a node listening on the default socket of the datadir connects to it."""
    sh = shell()
    node = listener(address="unix", datadir=sh.datadir)
    expected = os.path.join(sh.datadir, impl.roles["listener"].default_socket)
    assert node.path == expected
    a = sh.command("connect auto")
    assert a.ok and a.result.startswith("ok connected"), a.result
    assert a.result.endswith(f"address=unix:{expected}"), a.result
    assert_ok(sh.command(f"probe {a.words[2]}"))


@case("ADDR-022", "REQ-ADDR-7", roles=("shell",))
def test_failed_connect_keeps_errno(shell, short_tmp):
    """connect to a socket nobody listens on (unlistened or stale) is ECONNREFUSED; a missing path ENOENT."""
    sh = shell()
    unlistened = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    unlistened.bind(f"{short_tmp}/nolisten.sock")      # bound, never listening
    try:
        _stale_socket(f"{short_tmp}/stale.sock")
        rows = ((f"{short_tmp}/nolisten.sock", "ECONNREFUSED"),
                (f"{short_tmp}/stale.sock", "ECONNREFUSED"),
                (f"{short_tmp}/missing.sock", "ENOENT"),
                (f"{short_tmp}/nodir/x.sock", "ENOENT"))
        for path, name in rows:
            a = sh.command(f"connect unix:{path}")
            assert a.result.startswith(f"error system {name}"), \
                f"connect unix:{path}: expected 'error system {name}: ...', got {a.result!r}"
    finally:
        unlistened.close()
    assert_answer(sh.command("list"), "ok list 0", "a failed connect left an object held")


@case("ADDR-023", "REQ-ADDR-10", roles=("shell", "listener"), needs=("libmultiprocess",))
def test_connect_reports_the_resolved_address(shell, listener, impl):
    """connect unix, unix:<relative> and unix:<absolute> to one node all report unix:<its full path>."""
    sh = shell()
    node = listener(address="unix", datadir=sh.datadir)
    default = impl.roles["listener"].default_socket
    full = os.path.join(sh.datadir, default)
    for address in ("unix", f"unix:{default}", f"unix:{full}"):
        a = sh.command(f"connect {address}")
        assert_ok(a, f"connect {address}: {a.result}")
        assert a.words[3:] == [f"address=unix:{full}"], f"connect {address}: {a.result}"
        assert_ok(sh.command(f"probe {a.words[2]}"))
    node.assert_alive()


@case("ADDR-024", "REQ-ADDR-2", roles=("shell",))
def test_shell_listens_on_its_own_default_socket(shell, impl):
    """`listen unix` in the shell binds <datadir>/<the shell's own exe name>.sock (argv[0]'s basename, without `bitcoin-`) and announces that full path."""
    sh = shell()
    name = os.path.basename(impl.executables["shell"])     # the shell is staged under this name
    if name.startswith("bitcoin-"):
        name = name[len("bitcoin-"):]
    expected = os.path.join(sh.datadir, f"{name}.sock")
    a = sh.command("listen unix")
    assert_answer(a, f"ok listening unix:{expected}", f"listen unix: {a.result!r}, expected unix:{expected}")
    assert_file(expected, "socket")


@case("ADDR-025", "REQ-ADDR-9", roles=("shell", "listener"))
def test_connect_auto_when_the_datadir_is_not_a_directory(shell, impl, short_tmp):
    """connect auto answers 'ok null' when the datadir has become a regular file (the default socket's path: not a directory)."""
    datadir = os.path.join(short_tmp, "datadir")
    make_dir(datadir)
    sh = shell(datadir=datadir)
    # The shell started in a real datadir; now that path names a file, so
    # connecting to <datadir>/<default socket> fails with ENOTDIR.
    remove_dir(datadir)
    write_file(datadir, "not a directory\n")
    path = os.path.join(datadir, impl.roles["listener"].default_socket)
    assert_answer(sh.command("connect auto"), "ok null",
                  f"connect auto, {path} under a regular file (ENOTDIR)")
    assert_answer(sh.command("list"), "ok list 0")
