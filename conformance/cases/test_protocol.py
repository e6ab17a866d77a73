"""PROTO: the Cap'n Proto protocol as a client built from upstream's schemas
sees it: Init, ThreadMap, Thread and Echo, calls the server does not know,
and the schema identities that make the wire compatible."""
import functools
import hashlib
import os
import struct

import capnp

from ipc_conformance.conformance.case import case
from ipc_conformance.harness.capnp_peer import kj_type
from ipc_conformance.harness.verifiers import (assert_answer, assert_contains, assert_equal,
                                               assert_not_equal)

# Upstream's file IDs (src/ipc/capnp/init.capnp, echo.capnp, libmultiprocess
# include/mp/proxy.capnp).
INIT_FILE_ID = 0xf2c5cfa319406aa6
ECHO_FILE_ID = 0x888b4f7f51e691f7
PROXY_FILE_ID = 0xcc316e3f71a040fb

THREAD_NAMES = ("suite", "two words", "\u03c4\u03b7\u03c1\u03ae\u03c2", "\u540d\u524d",
                "rocket \U0001F680 \u2713", "n" * 200)
ECHO_TEXTS = ("", " ", "  spaces  \t tab\nnewline ", "h\u00e9llo w\u00f6rld",
              "\u65e5\u672c\u8a9e \u2713 \U0001F680", "\u2014" * 1000)


def child_type_id(parent_id: int, name: str) -> int:
    """The ID capnp gives a declaration without an explicit one: the first
    8 bytes (big-endian) of MD5(parent ID little-endian + name), top bit set."""
    digest = hashlib.md5(struct.pack("<Q", parent_id) + name.encode()).digest()
    return struct.unpack(">Q", digest[:8])[0] | (1 << 63)


# -- calls the server cannot know -------------------------------------------

# The suite's own schema: an interface with Init's type ID and one method
# more than Init has, and an interface no implementation knows. It is
# parsed by a SchemaParser of its own, because the global one refuses (by
# aborting the process) a second declaration of an ID it already holds.
_STRANGERS = """@0xd3b1c7a9e5f20417;
interface InitPlus @0x{init_id:x} {{
{methods}
}}
interface Stranger {{
  hello @0 () -> ();
}}
"""


@functools.lru_cache(maxsize=None)
def _stranger_schemas(init_id: int, method_count: int, path: str):
    methods = "\n".join(f"  known{i} @{i} () -> ();" for i in range(method_count))
    methods += f"\n  suiteUnknownMethod @{method_count} () -> ();"
    with open(path, "w") as f:
        f.write(_STRANGERS.format(init_id=init_id, methods=methods))
    parser = capnp.SchemaParser()
    return parser, parser.load(path)


def strangers(schemas, tmp_dir):
    node = schemas.init_interface.schema.node
    _, module = _stranger_schemas(node.id, len(node.interface.methods),
                                  os.path.join(tmp_dir, "suite_strangers.capnp"))
    return module


async def _error_type(promise_fn):
    """Call; the KJ error type of the answer, or None when it succeeded."""
    try:
        await promise_fn()
    except capnp.KjException as e:
        return kj_type(e), str(e).splitlines()[0][:300]
    return None, None


def _check_error_answer(kind, text, what, evidence):
    evidence.record(what, {"type": kind, "text": text})
    assert kind is not None, f"{what}: the server answered as if it knew the call"
    assert kind != "DISCONNECTED", f"{what}: the connection dropped instead of an error answer: {text}"


# -- Init, ThreadMap, Thread -----------------------------------------------

@case("PROTO-002", "REQ-PROTO-1", roles=("child",), needs=("libmultiprocess",))
def test_construct_returns_servers_thread_map(child, schemas, evidence):
    """construct, given the suite's own ThreadMap as upstream's client does, returns the server's ThreadMap, which answers makeThread."""
    proxy = schemas.proxy

    class SuiteThread(proxy.Thread.Server):
        async def getName(self, **_):
            return "suite-side thread"

    class SuiteThreadMap(proxy.ThreadMap.Server):
        async def makeThread(self, name, **_):
            return SuiteThread()

        async def makePool(self, count, **_):
            return None

    async def go(cl):
        answer = await cl.init.construct(threadMap=SuiteThreadMap())
        thread = (await answer.threadMap.makeThread("given")).result
        return (await thread.getName()).result

    c = child()
    name = c.call(go)
    evidence.record("thread_name", name)
    assert "suite-side" not in name, "construct handed the suite's own ThreadMap back"
    assert "given" in name, name


@case("PROTO-003", "REQ-PROTO-1", roles=("child",), needs=("libmultiprocess",))
def test_thread_names_contain_the_name_given(child, evidence):
    """makeThread names contain the name given: plain, with spaces, Greek, Japanese, emoji, 200 characters."""
    async def go(cl):
        thread_map = (await cl.init.construct()).threadMap
        names = {}
        for name in THREAD_NAMES:
            thread = (await thread_map.makeThread(name)).result
            names[name] = (await thread.getName()).result
        return names

    c = child()
    names = c.call(go)
    evidence.record("names", names)
    for given, got in names.items():
        assert given in got, f"makeThread({given!r}) named {got!r}"


@case("PROTO-004", "REQ-PROTO-6", roles=("child",), needs=("libmultiprocess",))
def test_make_pool_answered(child, evidence):
    """ThreadMap.makePool(0), (1) and (4) are answered (a result or an error answer), and the connection then still answers the probe."""
    async def go(cl):
        thread_map = (await cl.init.construct()).threadMap
        answers = {}
        for count in (0, 1, 4):
            try:
                await thread_map.makePool(count)
                answers[count] = "result"
            except capnp.KjException as e:
                if kj_type(e) == "DISCONNECTED":
                    raise
                # libmultiprocess refuses a second pool on one connection
                # (src/mp/proxy.cpp): an error answer is an answer.
                answers[count] = f"{kj_type(e)}: {str(e).splitlines()[0][:200]}"
        return answers
    c = child()
    evidence.record("makePool_answers", c.call(go))
    assert_contains(c.probe(), "probe", 'a probe')


# -- Echo ------------------------------------------------------------------

@case("PROTO-005", "REQ-PROTO-3", roles=("child",), needs=("libmultiprocess", "echo"))
def test_echo_returns_text_unchanged(child, evidence):
    """Echo returns empty, blank, control-character and non-ASCII texts unchanged."""
    c = child()
    for text in ECHO_TEXTS:
        got = c.echo(text)
        assert got == text, f"echo({text[:40]!r}) returned {got[:40]!r}"


@case("PROTO-006", "REQ-PROTO-3", roles=("child",), needs=("libmultiprocess", "echo"),
      conditions=("at-limit",))
def test_echo_one_megabyte(child, evidence):
    """Echo returns a 1 MiB text (ASCII with multi-byte characters spread in) unchanged."""
    block = "0123456789abcdef" * 63 + "0123" + "\u00e9\u2014\u65e5\U0001F680"       # 1024 bytes as UTF-8
    text = block * 1024
    assert len(text.encode()) == 1 << 20
    c = child()
    got = c.echo(text, timeout=20)
    evidence.record("lengths", {"sent": len(text), "received": len(got)})
    assert got == text, f"1 MiB echo changed: {len(got)} characters back of {len(text)}"


@case("PROTO-007", "REQ-PROTO-4", roles=("child",), needs=("libmultiprocess", "echo"))
def test_call_after_echo_destroy(child, evidence):
    """After Echo.destroy, a call on that Echo fails cleanly or is ignored; the child goes on answering and exits 0."""
    c = child()
    outcome = c.echo_after_destroy()
    evidence.record("call_after_destroy", outcome)
    assert outcome[0] != "wrong answer before destroy", outcome
    assert_not_equal(outcome[0], "DISCONNECTED", "a call on a destroyed Echo: how it ended "
                     "(DISCONNECTED: the connection dropped)")
    assert_contains(c.probe(), "probe", "a probe after it")
    assert_equal(c.echo("fresh"), "fresh", "a new Echo's answer")
    c.close()
    assert_equal(c.wait_exit(10), 0, "the child's exit status once its parent's end closed")


@case("PROTO-008", "REQ-PROTO-3", roles=("child",), needs=("libmultiprocess", "echo"))
def test_upstream_context(child, schemas, evidence):
    """makeEcho and echo with upstream's Context (thread: made by the server; callbackThread: the client's own) are answered."""
    proxy = schemas.proxy

    class ClientThread(proxy.Thread.Server):
        async def getName(self, **_):
            return "suite callback thread"

    async def go(cl):
        thread_map = (await cl.init.construct()).threadMap
        ctx = proxy.Context.new_message()
        ctx.thread = (await thread_map.makeThread("suite")).result
        ctx.callbackThread = ClientThread()
        echo = (await cl.init.makeEcho(ctx)).result
        return (await echo.echo(ctx, "with context")).result

    c = child()
    assert c.call(go) == "with context"


@case("PROTO-009", "REQ-PROTO-7", roles=("child",), needs=("libmultiprocess", "echo"))
def test_empty_context(child, schemas, evidence):
    """A call with an empty Context gets an answer (a result or an error, implementation-defined) and the connection stays usable."""
    proxy = schemas.proxy

    async def go(cl):
        empty = proxy.Context.new_message()
        try:
            echo = (await cl.init.makeEcho(empty)).result
            return "answered", (await echo.echo(empty, "no thread")).result
        except capnp.KjException as e:
            return kj_type(e), str(e).splitlines()[0][:300]

    c = child()
    outcome = c.call(go)
    evidence.record("empty_context", outcome)
    assert outcome[0] != "DISCONNECTED", f"the connection dropped: {outcome}"
    if outcome[0] == "answered":
        assert outcome[1] == "no thread", outcome
    assert_contains(c.probe(), "probe", "the connection is no longer usable")
    evidence.informational("an empty Context is " + ("served" if outcome[0] == "answered"
                                                     else f"refused ({outcome[0]})"))


# -- what the server does not know -------------------------------------------

@case("PROTO-010", "REQ-PROTO-5", roles=("child",))
def test_unknown_method_ordinal(child, schemas, short_tmp, evidence):
    """A call on Init with a method ordinal past its last gets an error answer; the connection stays usable and the child exits 0."""
    plus = strangers(schemas, short_tmp)

    async def go(cl):
        return await _error_type(lambda: cl.init.cast_as(plus.InitPlus).suiteUnknownMethod())

    c = child()
    _check_error_answer(*c.call(go), "unknown_method", evidence)
    if schemas.proxy is not None:
        assert_contains(c.probe(), "probe", "the connection is no longer usable")
    c.close()
    assert_equal(c.wait_exit(10), 0, "the child's exit status")


@case("PROTO-011", "REQ-PROTO-5", roles=("child",))
def test_unknown_interface(child, schemas, short_tmp, evidence):
    """A call through the bootstrap capability cast to an interface the server does not have gets an error answer; the connection stays usable."""
    plus = strangers(schemas, short_tmp)

    async def go(cl):
        return await _error_type(lambda: cl.init.cast_as(plus.Stranger).hello())

    c = child()
    _check_error_answer(*c.call(go), "unknown_interface", evidence)
    if schemas.proxy is not None:
        assert_contains(c.probe(), "probe", "the connection is no longer usable")
    c.close()
    assert_equal(c.wait_exit(10), 0, "the child's exit status")


@case("PROTO-012", "REQ-PROTO-2", needs=("libmultiprocess",))
def test_schema_type_ids(impl, schemas, evidence):
    """The schema files carry upstream's file IDs, type IDs and method ordinals (Init, Echo, ThreadMap, Thread, Context)."""
    files = {"init": (schemas.init, INIT_FILE_ID), "proxy": (schemas.proxy, PROXY_FILE_ID)}
    if impl.protocol.echo:
        files["echo"] = (schemas.echo, ECHO_FILE_ID)
    found = {k: hex(m.schema.node.id) for k, (m, _) in files.items()}
    evidence.record("file_ids", found)
    for key, (module, want) in files.items():
        assert module.schema.node.id == want, f"{key} file ID {found[key]}, upstream {want:#x}"

    def check(decl, parent, name, ordinals):
        node = decl.schema.node
        assert node.id == child_type_id(parent, name), \
            f"{name}: type ID {node.id:#x}, upstream {child_type_id(parent, name):#x}"
        members = node.interface.methods if node.which == "interface" else node.struct.fields
        have = {m.name: i for i, m in enumerate(members)} if node.which == "interface" \
            else {f.name: f.ordinal.explicit for f in members}
        for member, ordinal in ordinals.items():
            assert have.get(member) == ordinal, f"{name}.{member}: ordinal {have.get(member)}, upstream @{ordinal}"

    check(schemas.init.Init, INIT_FILE_ID, "Init",
          {"construct": 0, **({"makeEcho": 1} if impl.protocol.echo else {})})
    check(schemas.proxy.ThreadMap, PROXY_FILE_ID, "ThreadMap", {"makeThread": 0, "makePool": 1})
    check(schemas.proxy.Thread, PROXY_FILE_ID, "Thread", {"getName": 0})
    check(schemas.proxy.Context, PROXY_FILE_ID, "Context", {"thread": 0, "callbackThread": 1})
    if impl.protocol.echo:
        check(schemas.echo.Echo, ECHO_FILE_ID, "Echo", {"destroy": 0, "echo": 1})


@case("PROTO-013", "REQ-PROTO-1", roles=("listener",), needs=("libmultiprocess",))
def test_probes_over_listener_connection(listener, schemas, impl, short_tmp, evidence):
    """Over a listener connection: thread names, makePool, echo (when offered) and the unknown-method error, as over a spawned child."""
    plus = strangers(schemas, short_tmp)

    async def go(cl):
        out = {}
        thread_map = (await cl.init.construct()).threadMap
        names = [(await (await thread_map.makeThread(n)).result.getName()).result for n in THREAD_NAMES]
        out["names_ok"] = all(given in got for given, got in zip(THREAD_NAMES, names))
        await thread_map.makePool(2)
        out["unknown"] = await _error_type(lambda: cl.init.cast_as(plus.InitPlus).suiteUnknownMethod())
        if impl.protocol.echo:
            out["echo"] = [await cl.echo(t) for t in ECHO_TEXTS] == list(ECHO_TEXTS)
        out["probe_after"] = await cl.probe()
        return out

    node = listener()
    out = node.connect().call(go)
    evidence.record("listener_probes", out)
    assert out["names_ok"]
    _check_error_answer(*out["unknown"], "unknown_method", evidence)
    assert out.get("echo", True), "echo changed a text over the listener connection"
    assert "probe" in out["probe_after"]


@case("PROTO-050", "REQ-PROTO-3", roles=("shell", "listener"), needs=("libmultiprocess", "echo"),
      conditions=("repeated",))
def test_echo_on_each_new_connection(shell, listener, evidence):
    """Six connect/echo/destroy cycles from the shell: each new connection (on a reused descriptor number) gets its own Echo, which answers its own text."""
    node = listener()
    sh = shell()
    seen = []
    for i in range(6):
        obj = sh.connect(node.address)
        text = f"round-{i}-of-{obj}"
        a = sh.command(f"echo {obj} {text}")
        seen.append((obj, a.result))
        assert_answer(a, f"ok echo {text}", f"cycle {i}: echo on the new object {obj} (an "
                      "Echo of an earlier, destroyed connection would answer another text)")
        assert_answer(sh.command(f"destroy {obj}"), f"ok destroyed {obj}")
    evidence.record("echo_cycles", seen)
    node.assert_alive()
