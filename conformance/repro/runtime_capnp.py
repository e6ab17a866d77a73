'''The Cap'n Proto and process-role blocks a generated reproducer carries
(see conformance/repro/runtime.py): pycapnp's loop on the main thread, the
steps on another,
a client of Init, the node as a child over a socketpair and as a listener,
probes sent at once. Text, because the script imports nothing of this
project; the generator picks the blocks its trace uses.'''

LOOP = r'''
async def with_loop(run):
    """pycapnp's LOOP here, steps() on a thread; the clients released here (else they abort)."""
    global LOOP
    LOOP = asyncio.get_running_loop()
    try:
        await asyncio.to_thread(steps, run)
    finally:
        for client in run.clients:
            client.caps.clear()
def rpc(fn, *args, what="an answer", timeout=TIMEOUT):
    """``fn(*args)`` awaited on pycapnp's loop; a timeout or an error is a failure."""
    try:
        return asyncio.run_coroutine_threadsafe(asyncio.wait_for(fn(*args), timeout),
                                                LOOP).result(timeout + 5)
    except TimeoutError:
        fail(f"{what} within {timeout}s", "none")
    except capnp.KjException as e:
        fail(what, f"{e.type}: {str(e).splitlines()[0][:160]}")


class Client:
    def __init__(self, run, sock):
        self.caps = rpc(self._connect, sock, what="a connection")
        run.clients.append(self)
    async def _connect(self, sock):
        stream = await capnp.AsyncIoStream.create_connection(sock=sock)
        two_party = capnp.TwoPartyClient(stream)
        return dict(stream=stream, rpc=two_party, init=two_party.bootstrap().cast_as(INIT))
    async def _probe(self):
        thread_map = (await self.caps["init"].construct()).threadMap
        return (await (await thread_map.makeThread("probe")).result.getName()).result
    def probe(self, timeout=TIMEOUT):
        return rpc(self._probe, what="an answer to construct/makeThread/getName", timeout=timeout)
    def disconnect(self):
        async def close():
            if "stream" in self.caps:       # closing twice is closing once
                self.caps.pop("stream").close()
            self.caps.clear()
        rpc(close)
'''

CLIENT_ECHO = r'''
    async def _context(self):
        """The Context of this client's calls: a thread made once, as upstream's clients do."""
        if "ctx" not in self.caps:
            thread_map = (await self.caps["init"].construct()).threadMap
            thread = (await thread_map.makeThread("suite")).result
            self.caps["ctx"] = PROXY.Context.new_message(thread=thread)
        return self.caps["ctx"]
    def echo(self, text, timeout=TIMEOUT):
        """``text`` through this client's Echo (made on first use): the answer."""
        async def go():
            ctx = await self._context()
            if "echo" not in self.caps:
                self.caps["echo"] = (await self.caps["init"].makeEcho(ctx)).result
            return (await self.caps["echo"].echo(ctx, text)).result
        return rpc(go, what=f"an answer to echo {text[:40]!r}", timeout=timeout)
    def echo_after_destroy(self, timeout=TIMEOUT):
        """A fresh Echo, one call, Echo.destroy, then a call on the destroyed Echo:
        ("answered", text), or the error type and its first line."""
        async def go():
            thread_map = (await self.caps["init"].construct()).threadMap
            ctx = PROXY.Context.new_message(thread=(await thread_map.makeThread("r")).result)
            echo = (await self.caps["init"].makeEcho(ctx)).result
            await echo.echo(ctx, "before")
            await echo.destroy(ctx)
            try:
                return "answered", (await echo.echo(ctx, "after")).result
            except capnp.KjException as e:
                return e.type, str(e).splitlines()[0][:300]
        return rpc(go, what="a call on a destroyed Echo", timeout=timeout)
'''

INIT = r'''

here = os.path.join(os.path.dirname(os.path.abspath(__file__)), SCHEMAS)
INIT = getattr(capnp.load(os.path.join(here, INIT_SCHEMA), imports=[here]), INIT_INTERFACE)
'''

PROXY = r'''
PROXY = capnp.load(os.path.join(here, PROXY_SCHEMA), imports=[here])
'''

# The same, for schemas that import Cap'n Proto's own (``/capnp/c++.capnp``, as
# upstream's do): pycapnp ships those in its package, which goes on the path.
_WITH_CAPNP = "imports=[\n    here, os.path.dirname(os.path.dirname(capnp.__file__))]"
INIT_CAPNP = INIT.replace("imports=[here]", _WITH_CAPNP)
PROXY_CAPNP = PROXY.replace("imports=[here]", _WITH_CAPNP)

CONNECT_UNIX = r'''

def connect_unix(run, path):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(path)
    return Client(run, sock)
'''

CHILD = r'''
class Child:
    """The node spawned over a socketpair with -ipcfd, this script its parent."""
    def __init__(self, run, env=None, connect=True, lines=False):
        self.sock, theirs = socket.socketpair()
        self.p = subprocess.Popen(run.argv("child", fd=theirs.fileno()), cwd=run.tmp,
                                  pass_fds=[theirs.fileno()], env={**os.environ, **(env or {})},
                                  stdout=subprocess.PIPE if lines else subprocess.DEVNULL,
                                  start_new_session=True)
        theirs.close()
        run.pids.append(self.p.pid)
        self.pid = self.p.pid
        self.client = Client(run, self.sock) if connect else None
    def disconnect(self):
        """Close this end of the socketpair, as destroying the Init proxy does."""
        if self.client:
            self.client.disconnect()
        self.sock.close()
'''

WAIT_EXIT = r'''
    def wait_exit(self, timeout=TIMEOUT):
        try:
            return self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            fail(f"pid {self.pid} to exit within {timeout}s", "it still runs")
'''

WAIT_LINE = r'''
    def wait_line(self, pattern, timeout=TIMEOUT, start=0):
        line = self.out.wait(pattern, timeout, start)
        if line is None:
            fail(f"a stdout line matching {pattern!r}", f"none ({self.out.lines[-5:]})")
        return line
'''

LISTENER = r'''
class Listener:
    """The node listening on a unix socket; its ready line gives the socket's path."""
    def __init__(self, run, address, datadir, extra_args=(), wait_ready=True, timeout=TIMEOUT):
        argv = run.argv("listener", address=address, datadir=datadir) + list(extra_args)
        self.p = subprocess.Popen(argv, cwd=datadir, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, start_new_session=True)
        self.pid, self.out, self.err = self.p.pid, Lines(self.p.stdout), Lines(self.p.stderr)
        run.pids.append(self.pid)
        if wait_ready and not (line := self.out.wait(READY, timeout)):
            fail("the listener's ready line", f"none (stderr {self.err.lines[-3:]})")
        found = wait_ready and re.search(READY, line).groupdict().get("address")
        self.path = (found or address).partition(":")[2]
    def line_within(self, pattern, timeout=TIMEOUT, start=0):
        """The first line matching ``pattern`` (None); the ready line gives the path."""
        line = self.out.wait(pattern, timeout, start)
        if line and (m := re.search(READY, line)) and m.groupdict().get("address"):
            self.path = m["address"].partition(":")[2]
        return line
    def raw_connect(self, timeout=TIMEOUT):
        """A blocking connect, bounded (SO_SNDTIMEO) while the accept queue is full."""
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, struct.pack("ll", int(timeout), 0))
        if err := s.connect_ex(self.path):
            fail(f"a connection to {self.path} within {timeout}s",
                 "the accept queue stayed full" if err == errno.EAGAIN else os.strerror(err))
        return s
    def check_alive(self):
        """Still running: not exited, nor exiting (its end of a connection
        closes a moment before its exit shows, so the exit gets that moment)."""
        if exited(self.pid, 0.5):
            fail("the listener still running", f"it exited with status {self.p.wait()}")
'''

POLL_EXIT = r'''
    def exit_status(self):
        return self.p.poll()
'''

PROBE_ALL = r'''
def probe_all(clients, timeout=TIMEOUT):
    async def gather():
        return await asyncio.gather(*(c._probe() for c in clients))
    return rpc(gather, what=f"answers to {len(clients)} probes at once", timeout=timeout)
'''

PROBES = r'''
class Probes:
    """One probe sent on each of several clients at once, answered in any order."""
    def __init__(self, clients):
        self.clients, self.done = clients, set()     # all sent before any answer is awaited:
        self.futures = [asyncio.run_coroutine_threadsafe(c._probe(), LOOP) for c in clients]
    def check_answered(self, count, timeout=TIMEOUT, what=""):
        answers = concurrent.futures.as_completed(set(self.futures) - self.done, timeout)
        with contextlib.suppress(TimeoutError):     # too few answered: fails below
            for future in itertools.islice(answers, max(0, count - len(self.done))):
                self.done.add(future)
        if len(self.done) < count:
            fail(f"{what}: {count} of {len(self.futures)} clients answered", len(self.done))
    def check_pending(self, count, what=""):
        if (left := sum(not f.done() for f in self.futures)) != count:
            fail(f"{what}: {count} client(s) still unanswered", left)
    def served(self, i):
        return [c for c, f in zip(self.clients, self.futures) if f in self.done][i]
    def check_all_answered(self, timeout=TIMEOUT, what=""):
        async def wait():
            await asyncio.gather(*map(asyncio.wrap_future, self.futures))
        rpc(wait, what=f"{what}: all {len(self.futures)} clients answered", timeout=timeout)
'''
