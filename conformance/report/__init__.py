"""Reports of conformance runs: JSON (json_report), HTML (html_report).
JUnit XML is written by pytest's own --junitxml."""
