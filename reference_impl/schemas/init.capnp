# Bitcoin Core's Init interface (src/ipc/capnp/init.capnp), the bootstrap
# capability of every process. File ID and ordinals are the wire contract.
@0xf2c5cfa319406aa6;

using Proxy = import "/mp/proxy.capnp";
using Echo = import "echo.capnp";

interface Init {
  construct @0 (threadMap :Proxy.ThreadMap) -> (threadMap :Proxy.ThreadMap);
  makeEcho @1 (context :Proxy.Context) -> (result :Echo.Echo);
}
