"""The address grammar as a table: input -> resolved path and limit, or the
exact upstream error text."""
import pytest

from ipc_conformance.reference_impl.errors import InvalidArgument
from ipc_conformance.reference_impl.process.address import (DEFAULT_MAX_CONNECTIONS, SUN_PATH_MAX, BindAddress,
                                            default_socket_path, parse_address,
                                            parse_bind_address)

D = "/data"

BIND_CASES = [
    # address, path, max_connections (16: the default)
    ("unix", "/data/ref-node.sock", 16),
    ("unix:", "/data/ref-node.sock", 16),
    ("unix:s.sock", "/data/s.sock", 16),
    ("unix:sub/dir/s.sock", "/data/sub/dir/s.sock", 16),
    ("unix:/abs/s.sock", "/abs/s.sock", 16),
    ("unix:/abs/s.sock:max-connections=2", "/abs/s.sock", 2),
    ("unix:rel.sock:max-connections=0", "/data/rel.sock", 0),
    ("unix::max-connections=5", "/data/ref-node.sock", 5),
    ("unix:/p:max-connections=1,max-connections=3", "/p", 3),
    # Options are only what follows the last ':' and holds '=' or ',':
    # anything else is part of the path.
    ("unix::", "/data/:", 16),
    ("unix:a:b", "/data/a:b", 16),
    ("unix:/p:", "/p:", 16),
    ("unix:max-connections", "/data/max-connections", 16),
    ("unix::max-connections", "/data/:max-connections", 16),
    ("unix:/p:max-connections", "/p:max-connections", 16),
    ("unix:/p::max-connections=1", "/p:", 1),
    ("unix:/a:b:max-connections=4", "/a:b", 4),
    ("unix:max-connections=2:max-connections=3", "/data/max-connections=2", 3),
    ("unix::max-connections=-0", "/data/ref-node.sock", 0),
]

MISSING_PATH = ("Missing unix socket path before socket options; "
                "use unix::<options> for the default path")

BIND_ERRORS = [
    ("tcp:127.0.0.1:1", "Unrecognized address 'tcp:127.0.0.1:1'"),
    ("tcp:127.0.0.1:max-connections=2", "Unrecognized address 'tcp:127.0.0.1:max-connections=2'"),
    ("", "Unrecognized address ''"),
    ("unixx", "Unrecognized address 'unixx'"),
    ("UNIX", "Unrecognized address 'UNIX'"),
    ("/tmp/s.sock", "Unrecognized address '/tmp/s.sock'"),
    ("unix:max-connections=2", MISSING_PATH),
    ("unix:a,b", MISSING_PATH),
    ("unix:,", MISSING_PATH),
    ("unix::,", "Empty socket option"),
    ("unix::,max-connections=1", "Empty socket option"),
    ("unix:/p:max-connections=1,", "Empty socket option"),
    ("unix:/p:max-connections=1,,max-connections=2", "Empty socket option"),
    ("unix:/p:max-connections=", "Missing value for max-connections option"),
    ("unix:/p:max-connections,max-connections=1", "Missing value for max-connections option"),
    ("unix:/p:max-connections=-1", "Invalid max-connections value '-1'"),
    ("unix:/p:max-connections=two", "Invalid max-connections value 'two'"),
    ("unix:/p:max-connections=1.5", "Invalid max-connections value '1.5'"),
    ("unix:/p:max-connections= 2", "Invalid max-connections value ' 2'"),
    ("unix:/p:max-connections=+3", "Invalid max-connections value '+3'"),
    ("unix:/p:max-connections=0x10", "Invalid max-connections value '0x10'"),
    ("unix:/p:max-connections=1_0", "Invalid max-connections value '1_0'"),
    ("unix:/p:max-connections=\u0663", "Invalid max-connections value '\u0663'"),
    ("unix:/p:max-connections=1\n", "Invalid max-connections value '1\n'"),
    ("unix:/p:max-connections=1=2", "Invalid max-connections value '1=2'"),
    ("unix:/p:backlog=5", "Unknown socket option 'backlog'"),
    ("unix:/p:=5", "Unknown socket option ''"),
    ("unix:/p:max-connections=1,backlog", "Unknown socket option 'backlog'"),
]

# Bitcoin Core's own vectors for interfaces::Ipc::ParseBindAddress
# (address -> the address left and the limit, or the error).
UPSTREAM_VECTORS = [
    ("unix", "unix", 16),
    ("unix:", "unix:", 16),
    ("unix::max-connections=8", "unix:", 8),
    ("unix:path.sock:max-connections=8", "unix:path.sock", 8),
    ("unix::max-connections=0", "unix:", 0),
    ("unix::max-connections=2147483647", "unix:", 2147483647),
]

UPSTREAM_ERRORS = [
    ("unix:path.sock:max-connections=8,unknown=1", "Unknown socket option 'unknown'"),
    ("unix:max-connections=8", MISSING_PATH),
    ("unix::max-connections=-1", "Invalid max-connections value '-1'"),
    ("unix::max-connections=-9223372036854775808",
     "Invalid max-connections value '-9223372036854775808'"),
    ("unix::max-connections=9223372036854775808",
     "Invalid max-connections value '9223372036854775808'"),
    ("unix::max-connections=", "Missing value for max-connections option"),
]


@pytest.mark.parametrize("address,left,limit", UPSTREAM_VECTORS)
def test_upstream_bind_vectors(address, left, limit):
    assert parse_bind_address(address) == BindAddress(left, limit)


@pytest.mark.parametrize("address,message", UPSTREAM_ERRORS)
def test_upstream_bind_error_vectors(address, message):
    with pytest.raises(InvalidArgument) as info:
        parse_bind_address(address)
    assert str(info.value) == message
    with pytest.raises(InvalidArgument) as info:
        parse_address(address, D, "ref-node", allow_options=True)
    assert str(info.value) == message


def test_largest_int64_limit_is_accepted():
    assert parse_bind_address("unix::max-connections=9223372036854775807").max_connections \
        == 9223372036854775807


def test_an_address_without_options_is_returned_unchanged():
    for address in ("tcp:1:max-connections=2", "unix", "unix::", "unix:a:b", "unix:/p:"):
        assert parse_bind_address(address) == BindAddress(address, DEFAULT_MAX_CONNECTIONS)


@pytest.mark.parametrize("address,path,limit", BIND_CASES)
def test_bind_addresses(address, path, limit):
    parsed = parse_address(address, D, "ref-node", allow_options=True)
    assert (parsed.path, parsed.max_connections) == (path, limit)
    assert str(parsed) == f"unix:{path}"


@pytest.mark.parametrize("address,message", BIND_ERRORS)
def test_bind_errors_have_upstream_wording(address, message):
    with pytest.raises(InvalidArgument) as info:
        parse_address(address, D, "ref-node", allow_options=True)
    assert str(info.value) == message


def test_connect_takes_no_options_the_colon_is_part_of_the_path():
    parsed = parse_address("unix:/p:max-connections=2", D, "ref-node", allow_options=False)
    assert parsed.path == "/p:max-connections=2"
    assert parsed.max_connections is None
    plain = parse_address("unix:max-connections=2", D, "ref-node", allow_options=False)
    assert plain.path == "/data/max-connections=2"
    empty = parse_address("unix::,", D, "ref-node", allow_options=False)
    assert empty.path == "/data/:,"


def test_default_name_drops_a_bitcoin_prefix():
    assert default_socket_path("/d", "bitcoin-node") == "/d/node.sock"
    assert default_socket_path("/d", "bitcoin-gui") == "/d/gui.sock"
    assert default_socket_path("/d", "ref-node") == "/d/ref-node.sock"


def test_relative_datadir_is_made_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert parse_address("unix:s", "rel", "n", allow_options=True).path == f"{tmp_path}/rel/s"


@pytest.mark.parametrize("length,ok", [(SUN_PATH_MAX - 1, True), (SUN_PATH_MAX, False),
                                       (SUN_PATH_MAX + 40, False)])
def test_sun_path_limit_at_the_exact_byte(length, ok):
    path = "/" + "x" * (length - 1)
    assert len(path) == length
    if ok:
        assert parse_address(f"unix:{path}", D, "n", allow_options=True).path == path
    else:
        with pytest.raises(InvalidArgument) as info:
            parse_address(f"unix:{path}", D, "n", allow_options=True)
        assert str(info.value) == f'Unix address path "{path}" exceeded maximum socket path length'


def test_limit_counts_bytes_not_characters():
    path = "/" + "é" * 54          # 109 bytes, 55 characters
    with pytest.raises(InvalidArgument):
        parse_address(f"unix:{path}", D, "n", allow_options=True)


def test_default_limit_is_sixteen():
    assert DEFAULT_MAX_CONNECTIONS == 16
