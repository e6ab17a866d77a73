"""docs/upstream.md holds a verdict for every divergence the manifests
record: each [[expectations]] entry of libmultiprocess.toml has its row,
and every upstream file the reasons cite is named there too."""
import re

from ipc_conformance.conformance.case import REPO_ROOT
from ipc_conformance.harness.manifest import load_manifest

DOC = REPO_ROOT / "docs" / "upstream.md"
MANIFEST = REPO_ROOT / "conformance" / "manifests" / "libmultiprocess.toml"


def _rows():
    rows = {}
    for line in DOC.read_text().splitlines():
        if line.startswith("| ") and not line.startswith("| case") and not line.startswith("|---"):
            first = line.split("|")[1]
            for cid in re.findall(r"\b[A-Z]+-\d{3}\b", first):
                rows.setdefault(cid, []).append(line)
    return rows


def test_every_expectation_has_a_verdict_row_naming_its_upstream_source():
    rows = _rows()
    manifest = load_manifest(MANIFEST)
    assert manifest.expectations, "the libmultiprocess manifest lists no expectations"
    for cid, exp in manifest.expectations.items():
        assert cid in rows, f"{cid} has an expectation but no row in docs/upstream.md"
        text = " ".join(rows[cid])
        assert "upstream bug" in text or "upstream deviation" in text, (cid, text)
        for source in re.findall(r"(?:src|include)/[\w/.-]+\.(?:cpp|h)", exp.reason):
            assert source.split("/")[-1] in DOC.read_text(), (cid, source)


def test_every_verdict_is_one_of_the_two():
    for cid, lines in _rows().items():
        for line in lines:
            if "verdict" in line or "**" not in line:
                continue
            assert re.search(r"\*\*(suite or spec error|upstream bug|upstream deviation)", line), line
