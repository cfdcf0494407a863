"""README.md and docs/ link only to files and headings that exist (``make lint`` runs the same check)."""

from __future__ import annotations

from scripts.check_links import broken_links, slug


def test_every_relative_link_in_the_readme_and_docs_leads_somewhere():
    assert broken_links() == []


def test_a_link_to_a_missing_file_or_heading_is_named_with_its_line(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "guide.md").write_text("# A guide\n\n## Run it twice\n")
    (tmp_path / "README.md").write_text(
        "See [the guide](docs/guide.md#run-it-twice) and [the web](https://example.org).\n"
        "```\n[not a link](nowhere.md)\n```\n"
        "Gone: [old](docs/old.md), [part](docs/guide.md#run-it-once).\n"
    )

    assert broken_links(tmp_path) == [
        "README.md:5: docs/old.md (no such file)",
        "README.md:5: docs/guide.md#run-it-once (no heading #run-it-once in guide.md)",
    ]


def test_a_heading_anchor_is_spelled_as_github_spells_it():
    assert (
        slug("What `make test` runs: the gates, then 1,600 tests")
        == "what-make-test-runs-the-gates-then-1600-tests"
    )
