"""The language-neutral conformance suite: cases, pytest plugin, command line
and reports. See docs/writing-cases.md and docs/report.md."""
