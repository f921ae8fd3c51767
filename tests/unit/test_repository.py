"""The repository stands on its own: nothing points to documents that are not in it."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# Design notes that live outside the repository; a rule is stated where it applies.
ABSENT_DOCUMENTS = ("SPEC.md", "STYLE.md")


def test_sources_and_docs_when_read_then_no_reference_to_an_absent_document():
    roots = ["profitguard", "tests", "docs", "user_data", "benchmarks", ".ci"]
    files = [REPO / "README.md", REPO / "pyproject.toml"]
    files += [
        path
        for root in roots
        for path in (REPO / root).rglob("*")
        if path.suffix in (".py", ".md", ".json", ".toml", "") and path.is_file()
    ]
    offenders = [
        f"{path.relative_to(REPO)}:{n}"
        for path in files
        if path != Path(__file__) and path.is_file()
        for n, line in enumerate(path.read_text(errors="replace").splitlines(), 1)
        for name in ABSENT_DOCUMENTS
        if name in line and not (REPO / name).exists()
    ]
    assert offenders == []
