"""Every example in docs/editors-guide.md works against the demo alliance exactly as written:
new files pass `check` with no problem, changes read as the guide says, the commands print
what it shows, and the mistakes example gives exactly the messages printed there."""
from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

import records
from tests.site_support import REPO, copy_demo, load_cli

GUIDE = REPO / "docs" / "editors-guide.md"
MARKED = re.compile(r"<!-- check: (?P<what>\w+)(?: (?P<path>\S+))? -->\n```\w*\n(?P<body>.*?)```",
                    re.S)


def examples(kind: str) -> list[tuple[str, str]]:
    found = [(m["path"], m["body"]) for m in MARKED.finditer(GUIDE.read_text(encoding="utf-8"))
             if m["what"] == kind]
    assert found, f"no '{kind}' example in the guide"
    return found


@pytest.fixture(scope="module")
def cli():
    return load_cli()


@pytest.fixture
def demo(tmp_path) -> Path:
    return copy_demo(tmp_path)


def problems(demo: Path) -> list[str]:
    _, found = records.load(demo)
    return [str(p) for p in found]


def write_photo(root: Path, text: str) -> None:
    """The guide says to upload the photo first: do so, with a real JPEG."""
    from PIL import Image
    match = re.search(r"^photo: (\S+)", text, re.M)
    if match:
        Image.new("RGB", (400, 400), (40, 90, 160)).save(root / "content" / match.group(1), "JPEG")


@pytest.mark.parametrize("path, text", examples("file"), ids=[p for p, _ in examples("file")])
def test_new_file_examples_pass_check(demo, path, text):
    assert not (demo / path).exists(), "the example must be a new file"
    (demo / path).write_text(text, encoding="utf-8")
    write_photo(demo, text)
    assert problems(demo) == []
    assert Path(path).stem in {i for ids in records.load(demo)[0].ids.values() if ids for i in ids} \
        or path.endswith(".yml")


@pytest.mark.parametrize("path, text", examples("change"), ids=[p for p, _ in examples("change")])
def test_change_examples_read_as_the_guide_says(demo, path, text):
    file = demo / path
    lines = file.read_text(encoding="utf-8").split("\n")
    for new in text.strip().split("\n"):
        key = new.split(":", 1)[0]
        at = next((i for i, line in enumerate(lines[1:], 1) if line.startswith(f"{key}:")), None)
        if at is None:
            lines.insert(lines.index("---", 1), new)
        else:
            lines[at] = new
    file.write_text("\n".join(lines), encoding="utf-8")
    assert problems(demo) == []
    course = records.load(demo)[0].courses[Path(path).stem]
    for key, value in yaml.safe_load(text).items():
        assert getattr(course, key) == value


def test_mistakes_example_gives_exactly_the_messages_shown(demo, cli):
    (path, text), = examples("mistakes")
    guide = GUIDE.read_text(encoding="utf-8")
    shown = re.search(r"```text\n(.*?)```", guide[guide.index("check: mistakes"):], re.S).group(1)
    (demo / path).write_text(text, encoding="utf-8")
    result = CliRunner().invoke(cli, ["check", "--root", str(demo)])
    assert result.exit_code == 1
    assert result.output.splitlines()[:-1] == shown.strip().split("\n")


PLACEHOLDER_WARNING = ("warning: still the placeholder that `build.py new` wrote; write your own "
                       "words here before it is published")


def test_command_examples_print_what_the_guide_shows(demo, cli, monkeypatch):
    monkeypatch.chdir(demo)
    (_, text), = examples("commands")
    runs = re.findall(r"^\$ (.*)\n((?:(?!\$ ).*\n)*)", text, re.M)
    assert runs
    for command, output in runs:
        args = shlex.split(command)
        assert args[:2] == [".venv/bin/python", "build.py"], command
        result = CliRunner().invoke(cli, args[2:])
        assert result.exit_code == 0, result.output
        assert result.output == output
    # what the guide says next: the new files pass, with a warning at each placeholder
    assert problems(demo) and all(p.endswith(PLACEHOLDER_WARNING) for p in problems(demo))
    _, found = records.load(demo)
    assert not found.errors


def test_every_record_kind_of_the_guide_is_shown():
    headings = re.findall(r"^## (.*)$", GUIDE.read_text(encoding="utf-8"), re.M)
    for wanted in ("A course", "Cancel a course", "Mark a course full", "Quote a title",
                   "An SLE, with a photo", "A member school", "A news story",
                   "A newsletter edition", "A free page"):
        assert wanted in headings


def test_readme_examples_name_only_records_that_exist():
    """The README's examples (and the guide's) name SLEs, venues and schools of the demo."""
    recs = records.load(REPO)[0]
    known = set(recs.sles) | set(recs.venues) | {"online"} | set(recs.schools)
    for doc in (REPO / "README.md", GUIDE):
        for block in re.findall(r"```yaml\n(.*?)```", doc.read_text(encoding="utf-8"), re.S):
            for field in ("facilitators", "venue", "school"):
                for match in re.finditer(rf"^\s*-?\s*{field}: \[?([a-z0-9, -]+?)\]?\s*(#.*)?$", block, re.M):
                    for name in match.group(1).split(","):
                        if name.strip() not in ("centr",):        # the planted mistake
                            assert name.strip() in known, f"{doc.name}: {field}: {name}"
