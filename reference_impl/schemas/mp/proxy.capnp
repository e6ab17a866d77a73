# libmultiprocess's proxy schema, as far as the wire is concerned: the file ID
# and the declaration names fix the type IDs, so these must never change.
# Upstream also declares C++ annotations here; annotations do not change IDs
# and are left out so that no C++ schema needs to be on the import path.
@0xcc316e3f71a040fb;

interface ThreadMap {
  # Lets a client name a server thread that its calls should run on.
  makeThread @0 (name :Text) -> (result :Thread);
  makePool @1 (count :UInt32) -> ();
}

interface Thread {
  # A server thread made by ThreadMap.makeThread.
  getName @0 () -> (result :Text);
}

struct Context {
  # Passed with every call: the server thread to run on, and the client
  # thread that callbacks run on.
  thread @0 :Thread;
  callbackThread @1 :Thread;
}
