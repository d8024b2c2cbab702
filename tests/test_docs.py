"""Every relative link and anchor in README.md and docs/ resolves, and every table renders."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]

FENCE = re.compile(r"^\s*(```|~~~)")
CODE_SPAN = re.compile(r"(`+).*?\1")
LINK = re.compile(r"\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)(?:\s+#+)?\s*$")
SCHEME = re.compile(r"^([a-z][a-z0-9+.-]*:|//)", re.IGNORECASE)
DELIMITER_ROW = re.compile(r"^\s*\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$")


def prose_lines(text: str) -> Iterator[tuple[int, str]]:
    """Numbered lines outside fenced code blocks, with inline code spans blanked out."""
    fenced = False
    for number, line in enumerate(text.splitlines(), start=1):
        if FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            yield number, CODE_SPAN.sub("", line)


def github_slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces as hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)
    text = re.sub(r"<[^>]+>", "", text).strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    """Every heading anchor of a markdown page, repeated headings numbered as GitHub does."""
    seen: dict[str, int] = {}
    found: set[str] = set()
    fenced = False
    for line in page.read_text().splitlines():
        if FENCE.match(line):
            fenced = not fenced
        match = None if fenced else HEADING.match(line)
        if match:
            slug = github_slug(match.group(2))
            count = seen.get(slug, 0)
            seen[slug] = count + 1
            found.add(slug if count == 0 else f"{slug}-{count}")
    return found


def broken_links(page: Path, root: Path) -> list[str]:
    """One line per relative link or anchor in ``page`` that points nowhere inside ``root``."""
    problems = []
    for number, line in prose_lines(page.read_text()):
        for target in LINK.findall(line):
            problem = _link_problem(page, root, target)
            if problem:
                problems.append(f"{page.relative_to(root)}:{number}: {target}: {problem}")
    return problems


def _link_problem(page: Path, root: Path, target: str) -> str | None:
    if SCHEME.match(target):
        return None
    path_part, _, anchor = target.partition("#")
    linked = (page.parent / unquote(path_part)).resolve() if path_part else page
    if not linked.is_relative_to(root.resolve()):
        return "points outside the repository"
    if not linked.exists():
        return "no such file"
    if anchor and linked.suffix == ".md" and unquote(anchor) not in anchors(linked):
        return f"no heading with the anchor #{anchor} in {linked.name}"
    return None


def split_tables(page: Path, root: Path) -> list[str]:
    """One line per block of table rows without a header delimiter: it renders as plain text."""
    problems = []
    block: list[tuple[int, str]] = []
    for number, line in [*prose_lines(page.read_text()), (-1, "")]:
        if line.lstrip().startswith("|"):
            block.append((number, line))
            continue
        if block and (len(block) < 2 or not DELIMITER_ROW.match(block[1][1])):
            problems.append(f"{page.relative_to(root)}:{block[0][0]}: table rows without a header delimiter row")
        block = []
    return problems


def test_every_relative_link_and_anchor_resolves() -> None:
    problems = [problem for page in PAGES for problem in broken_links(page, ROOT)]
    assert not problems, "\n".join(problems)


def test_every_table_renders_as_one_table() -> None:
    problems = [problem for page in PAGES for problem in split_tables(page, ROOT)]
    assert not problems, "\n".join(problems)


def test_the_link_check_reports_each_broken_link(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "other.md").write_text("# Other\n\n## A heading, with `code`\n\n## Twice\n\n## Twice\n")
    page = tmp_path / "README.md"
    page.write_text(
        "# Title\n\n## Current figures\n\n"
        "[fine](docs/other.md#a-heading-with-code) [fine](#current-figures) [fine](docs/other.md#twice-1)\n"
        "[web](https://example.com/missing.md) `[in code](missing-code.md)`\n"
        "```\n[in a fence](missing-fence.md)\n```\n"
        "[gone](docs/missing.md) [nowhere](#measured)\n"
        "[no heading](docs/other.md#twice-2) [outside](../elsewhere.md)\n"
    )
    assert broken_links(page, tmp_path) == [
        "README.md:10: docs/missing.md: no such file",
        "README.md:10: #measured: no heading with the anchor #measured in README.md",
        "README.md:11: docs/other.md#twice-2: no heading with the anchor #twice-2 in other.md",
        "README.md:11: ../elsewhere.md: points outside the repository",
    ]


def test_the_table_check_finds_rows_split_off_by_a_blank_line(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("| a | b |\n|---|---|\n| 1 | 2 |\n\n| 3 | 4 |\n| 5 | 6 |\n\n| c |\n| :-: |\n")
    assert split_tables(page, tmp_path) == ["page.md:5: table rows without a header delimiter row"]


def test_github_slugs() -> None:
    assert github_slug("2026-11-29 (session 8): NewsMTSC's own labels") == "2026-11-29-session-8-newsmtscs-own-labels"
    assert github_slug("`finsent bench` and **bold**") == "finsent-bench-and-bold"
    assert github_slug("Secrets and the API") == "secrets-and-the-api"
