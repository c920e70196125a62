"""Hostile or mistaken files in the records: pictures that are links or not pictures, file
names that would inject GitHub workflow commands, YAML alias bombs, an output folder that is
not a site. Each refused with one clear message at its place; nothing else lost."""
from __future__ import annotations

import os
import re
import resource
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

import records
from records.media import MAX_BYTES
from tests.site_support import REPO, load_cli
from tests.treebuilder import write_tree

TODAY = "2026-11-22"


def run(*args) -> "click.testing.Result":
    return CliRunner().invoke(load_cli(), [str(a) for a in args])


def errors_of(root: Path) -> list[str]:
    _, problems = records.load(root)
    return [str(p) for p in problems if p.is_error]


def png(path: Path, size=(4, 3), fmt="PNG") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, (200, 30, 30)).save(path, fmt)
    return path


# --- pictures -------------------------------------------------------------------------------

def with_photo(tmp_path: Path, photo: str) -> tuple[Path, str]:
    """A tree whose SLE ada-lovelace has `photo: <photo>`; (root, 'path:line: photo: ')."""
    root = write_tree(tmp_path / "tree", sles={"ada-lovelace": {"name": "Ada Lovelace", "photo": photo}})
    rel = "content/sles/ada-lovelace.md"
    line = next(n for n, text in enumerate((root / rel).read_text().splitlines(), 1)
                if text.startswith("photo:"))
    return root, f"{rel}:{line}: photo: "


def test_a_link_to_the_process_environment_is_refused(tmp_path):
    root, where = with_photo(tmp_path, "sles/ada.jpg")
    os.symlink("/proc/self/environ", root / "content" / "sles" / "ada.jpg")
    assert errors_of(root) == [where + "content/sles/ada.jpg is a link to another file; put the "
                               "picture itself in content/, not a link to it"]
    result = run("build", "--root", root, "--out", root / "site", "--today", TODAY)
    assert result.exit_code == 1
    assert result.output.splitlines()[-1] == "1 error, 0 warnings: nothing was published"
    assert not (root / "site").exists()


def test_a_link_to_the_subscriber_database_is_refused_by_check(tmp_path):
    root, where = with_photo(tmp_path, "sles/ada.png")
    database = tmp_path / "data" / "mailer.sqlite3"
    database.parent.mkdir()
    database.write_bytes(b"SQLite format 3\x00 teacher@school.example")
    os.symlink(database, root / "content" / "sles" / "ada.png")
    result = run("check", "--root", root)
    assert result.exit_code == 1
    assert result.output.splitlines()[0] == (
        where + "content/sles/ada.png is a link to another file; put the picture itself in "
        "content/, not a link to it")


def test_a_linked_folder_is_refused_even_if_the_picture_is_real(tmp_path):
    root, where = with_photo(tmp_path, "pictures/ada.png")
    png(tmp_path / "elsewhere" / "ada.png")
    os.symlink(tmp_path / "elsewhere", root / "content" / "pictures")
    assert errors_of(root) == [where + "content/pictures is a link to another file; put the "
                               "picture itself in content/, not a link to it"]


def test_a_link_inside_content_is_refused_too(tmp_path):
    root, where = with_photo(tmp_path, "sles/ada.png")
    png(root / "content" / "sles" / "real.png")
    os.symlink("real.png", root / "content" / "sles" / "ada.png")
    assert errors_of(root) == [where + "content/sles/ada.png is a link to another file; put the "
                               "picture itself in content/, not a link to it"]


@pytest.mark.parametrize("photo", ["../data/ada.png", "/etc/ada.png", "sles/../../ada.png"])
def test_a_path_out_of_content_is_refused(tmp_path, photo):
    root, where = with_photo(tmp_path, photo)
    png(root / "data" / "ada.png")
    assert errors_of(root) == [where + f"{photo!r} should be a path inside content/, with forward "
                               "slashes and no '..', e.g. sles/jane-okafor.jpg"]


def test_only_real_pictures_are_accepted(tmp_path):
    root, where = with_photo(tmp_path, "sles/ada.jpg")
    (root / "content" / "sles" / "ada.jpg").write_text("OPENAI_API_KEY=sk-secret\n")
    assert errors_of(root) == [where + "content/sles/ada.jpg is not a picture (its contents are "
                               "not a JPEG, PNG, GIF or WebP image); save the photo again as "
                               ".jpg or .png"]


def test_the_name_must_say_what_the_picture_is(tmp_path):
    root, where = with_photo(tmp_path, "sles/ada.jpg")
    png(root / "content" / "sles" / "ada.jpg")
    assert errors_of(root) == [where + "content/sles/ada.jpg holds a PNG image but its name ends "
                               ".jpg; rename it to end .png"]


@pytest.mark.parametrize("name", ["ada.html", "ada.svg", "ada"])
def test_only_picture_extensions_are_published(tmp_path, name):
    root, where = with_photo(tmp_path, f"sles/{name}")
    png(root / "content" / "sles" / name)
    assert errors_of(root) == [where + f"'sles/{name}' is not a picture the website can show: "
                               "use a .jpg, .png, .gif or .webp file"]


def test_pixel_and_size_limits(tmp_path):
    root, where = with_photo(tmp_path, "sles/ada.png")
    png(root / "content" / "sles" / "ada.png", size=(6000, 5000))
    assert errors_of(root) == [where + "content/sles/ada.png is 6,000 x 5,000 pixels; a picture "
                               "may have at most 25,000,000 pixels and 10,000 a side: resize it "
                               "(about 1,000 pixels wide is plenty)"]
    big = root / "content" / "sles" / "ada.png"
    png(big)
    with open(big, "ab") as handle:
        handle.write(b"\0" * MAX_BYTES)
    assert errors_of(root) == [where + "content/sles/ada.png is 5.0 MB; a picture may be at most "
                               "5 MB: resize it (about 1,000 pixels wide is plenty) and save it "
                               "again"]


def test_a_real_picture_is_accepted(tmp_path):
    root, _ = with_photo(tmp_path, "sles/ada.png")
    png(root / "content" / "sles" / "ada.png")
    assert errors_of(root) == []


# --- GitHub annotations ------------------------------------------------------------------------

def parse_command(line: str) -> tuple[str, dict[str, str], str]:
    """A workflow command read as GitHub's runner reads it (ActionCommand.TryParseV2)."""
    assert line.startswith("::")
    end = line.index("::", 2)
    info, data = line[2:end], line[end + 2:]
    name, _, props = info.partition(" ")
    unescape_prop = {"%25": "%", "%0D": "\r", "%0A": "\n", "%3A": ":", "%2C": ","}
    unescape_data = {"%25": "%", "%0D": "\r", "%0A": "\n"}
    properties = {}
    for pair in props.split(","):
        key, _, value = pair.partition("=")
        properties[key] = re.sub("%25|%0D|%0A|%3A|%2C", lambda m: unescape_prop[m.group(0)], value)
    return name, properties, re.sub("%25|%0D|%0A", lambda m: unescape_data[m.group(0)], data)


def test_a_file_name_cannot_inject_workflow_commands(tmp_path):
    root = write_tree(tmp_path / "tree")
    hostile = "x,line=1,title=t::y%0A\n::error file=evil.md::injected"
    (root / "courses" / f"{hostile}.md").write_text("---\ntitle: x\n---\nText\n")
    result = run("check", "--root", root, "--format", "github")
    assert result.exit_code == 1
    lines = result.output.splitlines()
    commands = [line for line in lines if line.startswith("::")]
    assert len(commands) == 1 and lines[-1].startswith("Checked "), lines
    name, properties, message = parse_command(commands[0])
    assert name == "error"
    assert properties == {"file": f"courses/{hostile}.md", "title": f"{hostile}.md"}
    assert message.startswith(f"file name {hostile!r} is not a valid id")


def test_github_format_escapes_every_property_and_the_message():
    problem = records.Problem("a,b:c%d.md", 7, "x:y,z", "bad\r\nvalue 100%")
    line = problem.github()
    assert "\n" not in line and "\r" not in line
    assert parse_command(line) == ("error", {"file": "a,b:c%d.md", "line": "7", "title": "x:y,z"},
                                   "x:y,z: bad\r\nvalue 100%")


# --- YAML alias bombs ---------------------------------------------------------------------------

def bomb(levels: int = 9) -> str:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
    return "\n".join(lines)


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (1536 * 1024 * 1024, 1536 * 1024 * 1024))


def test_an_alias_bomb_is_refused_without_blowing_memory(tmp_path):
    root = write_tree(tmp_path / "tree", courses={
        "bomb": "---\ntitle: Lots\n" + bomb() + "\n---\nText\n"})
    venues = (root / "content" / "venues.yml")
    venues.write_text(venues.read_text() + bomb().replace("a", "v") + "\n")
    # in a child process limited to 1.5 GB: expanded, one of these bombs is billions of values
    result = subprocess.run([sys.executable, str(REPO / "build.py"), "check", "--root", str(root)],
                            capture_output=True, text=True, timeout=120, preexec_fn=_limit_memory,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    assert result.returncode == 1, result.stderr[-2000:]
    message = ("the YAML aliases (*name) in this file expand to more than 100,000 values; write "
               "the values out instead of repeating them with & and *")
    venue_line = next(n for n, t in enumerate(venues.read_text().splitlines(), 1) if t.startswith("v0:"))
    assert result.stdout.splitlines() == [
        f"content/venues.yml:{venue_line}: {message}",
        f"courses/bomb.md:3: {message}",
        result.stdout.splitlines()[-1]]
    assert result.stdout.splitlines()[-1].endswith("(2 errors, 0 warnings)")


def test_a_few_aliases_are_still_read(tmp_path):
    root = write_tree(tmp_path / "tree", courses={"shared": textwrap.dedent("""\
        ---
        title: Shared sessions
        strand: cpd
        summary: Two sessions in the same place.
        audience: [teacher]
        sessions:
          - {date: 2027-01-14, start: "13:30", end: "16:00", venue: &place centre}
          - {date: 2027-01-21, start: "13:30", end: "16:00", venue: *place}
        cost: 0
        booking: https://forms.example/shared
        ---
        Text.
        """)})
    assert errors_of(root) == []


# --- build --out ----------------------------------------------------------------------------------

def test_build_refuses_a_folder_that_is_not_a_site(tmp_path):
    root = write_tree(tmp_path / "tree")
    data = root / "data"
    data.mkdir()
    (data / "mailer.sqlite3").write_bytes(b"SQLite format 3\x00subscribers")
    result = run("build", "--root", root, "--out", data, "--today", TODAY)
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0] == (f"{data}: holds files that are not an earlier build of this site (it has "
                        "no .tsa-site-build file), and a build replaces the whole folder; choose "
                        "an empty or new --out folder (if it is a site built before build.py "
                        "marked its builds, delete it yourself first)")
    assert lines[-1] == "1 error, 0 warnings: nothing was published"
    assert (data / "mailer.sqlite3").read_bytes() == b"SQLite format 3\x00subscribers"


def test_build_refuses_the_alliance_folder_itself(tmp_path):
    root = write_tree(tmp_path / "tree")
    before = sorted(str(p.relative_to(root)) for p in root.rglob("*"))
    result = run("build", "--root", root, "--out", root, "--today", TODAY)
    assert result.exit_code == 1
    assert sorted(str(p.relative_to(root)) for p in root.rglob("*")) == before


def test_build_replaces_an_earlier_build_and_fills_an_empty_folder(tmp_path):
    root = write_tree(tmp_path / "tree")
    out = tmp_path / "empty"
    out.mkdir()
    assert run("build", "--root", root, "--out", out, "--today", TODAY).exit_code == 0
    assert (out / ".tsa-site-build").is_file() and (out / "index.html").is_file()
    (out / "stale.html").write_text("from the earlier build")
    assert run("build", "--root", root, "--out", out, "--today", TODAY).exit_code == 0
    assert not (out / "stale.html").exists()


# --- control characters ---------------------------------------------------------------------------

def test_control_characters_in_record_text_are_refused(tmp_path):
    """Any text field, one line or many (the mailer's subject check, i8mail's, is the same one)."""
    root = write_tree(tmp_path / "tree", courses={"odd": textwrap.dedent("""\
        ---
        title: "Maths \\e[31m red \\0"
        strand: cpd
        summary: A summary.
        audience: [teacher]
        sessions:
          - {date: 2027-01-14, venue: centre}
        cost: 0
        booking: https://forms.example/odd
        ---
        Text.
        """)})
    assert errors_of(root) == ["courses/odd.md:2: title: holds an invisible control character "
                               "(U+001B) after 'Maths '; delete it (retype the line if you cannot "
                               "see it)"]


# --- record files that are links ------------------------------------------------------------------

def test_record_files_that_are_links_are_refused(tmp_path):
    root = write_tree(tmp_path / "tree")
    secrets = tmp_path / "secrets.yml"
    secrets.write_text("centre:\n  name: Centre\n  address: API_KEY=sk-live-secret\n")
    (root / "content" / "venues.yml").unlink()
    os.symlink(secrets, root / "content" / "venues.yml")
    os.symlink(secrets, root / "courses" / "leak.md")
    assert errors_of(root) == [
        "content/venues.yml: is a link to another file; put the record itself here, not a link to it",
        "courses/leak.md: is a link to another file; put the record itself here, not a link to it"]


def test_control_characters_in_many_line_text_are_refused(tmp_path):
    root = write_tree(tmp_path / "tree", venues={"centre": {
        "name": "Centre", "address": "1 High Street", "notes": "Parking\non site\x07"}})
    assert errors_of(root) == ["content/venues.yml:4: centre.notes: holds an invisible control "
                               "character (U+0007) after 'Parking\\non site'; delete it (retype "
                               "the line if you cannot see it)"]
