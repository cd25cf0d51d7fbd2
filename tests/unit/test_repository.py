"""What issue 15 asked of the repository itself, held by tests: a README a newcomer reads before the
two commands (at most 8 KB, the rest in docs/), links between the documents that lead somewhere, and a
pre-commit configuration that runs what `make lint` (CI's gate) runs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT

DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)\s]+)\)")


def test_the_readme_is_at_most_8_kb() -> None:
    size = (ROOT / "README.md").stat().st_size
    assert size <= 8 * 1024, f"README.md is {size} bytes: move the detail to docs/"


def _anchors(document: Path) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces as hyphens."""
    headings = re.findall(r"^#+\s+(.+?)\s*$", document.read_text(), re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-") for heading in headings}


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: str(path.relative_to(ROOT)))
def test_every_link_in_the_documents_leads_to_a_file_and_heading_that_exist(document: Path) -> None:
    broken = []
    for target in LINK.findall(document.read_text()):
        if re.match(r"[a-z]+:", target):  # https:, mailto:: outside the repository
            continue
        path, _, anchor = target.partition("#")
        linked = (document.parent / path).resolve() if path else document
        if not linked.exists() or (anchor and linked.suffix == ".md" and anchor not in _anchors(linked)):
            broken.append(target)
    assert not broken, f"{document.relative_to(ROOT)} links nowhere: {broken}"


def test_the_anchor_rule_matches_github_on_this_repositorys_headings() -> None:
    # What the link test relies on: docs/api.md's "Abuse controls" heading is #abuse-controls.
    assert "abuse-controls" in _anchors(ROOT / "docs" / "api.md")


def test_pre_commit_runs_what_make_lint_runs() -> None:
    makefile = (ROOT / "Makefile").read_text()
    lint = re.search(r"^lint:.*\n((?:\t.*\n)+)", makefile, re.MULTILINE)
    assert lint, "the Makefile has no lint target"
    steps = [line.strip().replace("$(BIN)/", "").replace("$(MAKE)", "make") for line in lint.group(1).splitlines()]
    assert steps == ["ruff check .", "ruff format --check .", "make --no-print-directory lint-types"], steps

    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
    entries = [hook["entry"].replace(".venv/bin/", "") for repo in config["repos"] for hook in repo["hooks"]]
    # pre-commit passes the staged files where make lint passes "." (mypy always runs whole).
    assert entries == ["ruff check --force-exclude", "ruff format --check --force-exclude", steps[2]], entries
