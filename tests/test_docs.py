"""The README is a landing page, and the links of the README and the docs lead somewhere."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def test_readme_is_a_landing_page():
    """README.md stays under 10,000 bytes and gives the two make commands CI and users run."""
    readme = (ROOT / "README.md").read_text()
    assert len(readme.encode()) <= 10_000
    assert "make demo" in readme and "make test" in readme


def test_relative_links_point_at_files_that_exist():
    """Every relative link or image in the README and docs/ names a file of the repository."""
    broken = []
    for page in PAGES:
        text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if re.match(r"[a-z]+:", target) or target.startswith("#"):
                continue
            if not (page.parent / target.split("#")[0]).exists():
                broken.append(f"{page.relative_to(ROOT)}: {target}")
    assert not broken, broken


def test_every_page_is_in_the_site_navigation():
    """Each page under docs/ is listed in mkdocs.yml's nav, so the site shows it."""
    nav = (ROOT / "mkdocs.yml").read_text()
    pages = [page.relative_to(ROOT / "docs").as_posix() for page in PAGES[1:]]
    assert [page for page in pages if page not in nav] == []
