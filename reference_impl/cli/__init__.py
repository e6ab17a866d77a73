"""The reference's programs: ``ref-node`` (child and listener roles) and
``ref-shell`` (parent and connector roles), as docs/programs.md specifies."""
