"""The Q&A file format: evidence paths matched to indexed sources."""

from __future__ import annotations

import pytest

from memo.core.qa_format import evidence_matches


@pytest.mark.parametrize("evidence, source, match", [
    ("tidewell/benefits.md", "benefits.md", True),  # evidence from a parent folder
    ("benefits.md", "docs/tidewell/benefits.md", True),  # source indexed from higher up
    ("/corpora/tidewell/benefits.md", "tidewell/benefits.md/", True),
    ("benefits.md", "benefits.md", True),
    ("tidewell/about.md", "benefits.md", False),
    ("", "benefits.md", False),
    ("benefits.md", "", False),
])
def test_evidence_matches_by_path_suffix(evidence, source, match):
    assert evidence_matches(evidence, source) is match


def test_evidence_matches_whole_path_components_only():
    assert not evidence_matches("tidewell/old-benefits.md", "benefits.md")
