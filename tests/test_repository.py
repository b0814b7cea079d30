"""The repository stands alone: a license, a citation file, docs that point only inside it."""

from __future__ import annotations

import re
import tokenize
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md")])
CODE = sorted(
    path
    for folder in ("src", "tests", "benchmarks", "validation")
    for path in (ROOT / folder).rglob("*.py")
    if path.name != Path(__file__).name
)
# A reference to a file outside the repository: a shared/ path, or the spec file by name.
OUTSIDE = re.compile(r"shared/|\.\./|model\.md|\bspec\b( section|s? \d)?")
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def test_license_is_the_mit_license_of_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    text = (ROOT / "LICENSE").read_text()
    assert project["license"] == "MIT"
    assert text.startswith("MIT License\n") and "Copyright (c) 2026 the advrf developers" in text


def test_citation_file_is_cff_1_2_0_with_the_paper():
    yaml = pytest.importorskip("yaml")
    citation = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    for key in ("cff-version", "message", "title", "authors"):  # required by CFF 1.2.0
        assert citation[key], key
    assert citation["cff-version"] == "1.2.0" and citation["type"] == "software"
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert citation["version"] == project["version"] and citation["license"] == "MIT"
    paper = citation["preferred-citation"]
    assert [a["family-names"] for a in paper["authors"]] == ["Hassani", "Javanmard"]
    assert (paper["journal"], paper["volume"], paper["issue"], paper["year"]) == (
        "The Annals of Statistics",
        52,
        2,
        2024,
    )
    assert {"type": "other", "value": "arXiv:2201.05149"}.items() <= paper["identifiers"][0].items()


@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.name)
def test_docs_point_only_inside_the_repository(path):
    text = path.read_text()
    outside = [m.group(0) for m in OUTSIDE.finditer(text)]
    assert not outside, f"{path.name} refers to files outside the repository: {outside}"
    for target in LINK.findall(text):
        if re.match(r"[a-z]+:", target):  # a URL
            continue
        linked = (path.parent / target).resolve()
        assert linked.is_relative_to(ROOT) and linked.exists(), f"{path.name}: broken {target}"


def _text_of(path: Path):
    """(line, text) of every comment and string of a Python file (not its names)."""
    with path.open("rb") as handle:
        for token in tokenize.tokenize(handle.readline):
            if token.type in (tokenize.COMMENT, tokenize.STRING):
                for offset, text in enumerate(token.string.splitlines()):
                    yield token.start[0] + offset, text


def test_code_points_only_inside_the_repository():
    found = [
        f"{path.relative_to(ROOT)}:{number}: {text.strip()}"
        for path in CODE
        for number, text in _text_of(path)
        if OUTSIDE.search(text)
    ]
    assert not found, "references to files outside the repository:\n" + "\n".join(found)


def test_readme_links_the_conventions():
    assert "](docs/conventions.md)" in (ROOT / "README.md").read_text()
