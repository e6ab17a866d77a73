# An interface no implementation serves. Calling it through any bootstrap
# capability must get an error answer (unimplemented): the answer proves the
# peer reads and answers calls, whatever its own Init schema is.
@0xc4f0a1d2b3e49587;

interface Stranger {
  hello @0 () -> ();
}
