"""Which files are records: folders, file names and extensions, and what an editor is told
when a file is in the wrong place, misnamed or empty.

A record that is not read is a silent loss (the editor sees their course nowhere), so each way
of getting the place or the name wrong is an error saying the exact rename or move.
"""
from __future__ import annotations

import operator
import os
from pathlib import Path

from .problems import Problems
from .schema import ID_RE

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".gif", ".webp", ".svg", ".avif"}
# other spellings of a record's extension: such a file was meant to be a record
SPELLINGS = {".md": {".md", ".markdown", ".mdown", ".mkd", ".txt"}, ".yml": {".yml", ".yaml"}}
SHARED_FILES = ("alliance", "venues", "board", "audiences")

EMPTY = {
    "content/alliance.yml": "the file is empty; it needs the alliance's `name:`, `aim:`, "
                            "`lead_school:`, `site_url:` and `contact:` (see docs/content-format.md)",
    "content/venues.yml": "the file is empty; list the venues here, e.g. `centre:` then its "
                          "`name:` and `address:` indented below it (see docs/content-format.md)",
    "content/board.yml": "the file is empty; list the board members, each starting `- name:`, "
                         "or delete the file",
    "content/audiences.yml": "the file is empty; list the newsletter audiences here, or delete "
                             "the file (see docs/content-format.md)",
    "content/schools": "the file is empty; write the school's fields, e.g. `name:`, `phase:`, "
                       "`role:` and `town:` (see docs/content-format.md)",
}


def slug(text: str) -> str:
    """A safe id from any text: 'Zoë's Phonics: Part 2' -> 'zoes-phonics-part-2'."""
    from anyascii import anyascii       # here: `check` rarely needs it (its import costs 12 ms)
    plain = anyascii(text).lower().replace("'", "").replace("\u2019", "")
    return "-".join("".join(c if c.isalnum() else " " for c in plain).split())


def empty_message(rel: str) -> str:
    return EMPTY.get(rel) or EMPTY[rel.rsplit("/", 1)[0]]


LINK_MESSAGE = "is a link to another file; put the record itself here, not a link to it"


_first = operator.itemgetter(0)


def record_files(root: Path, folder: str, suffix: str, problems: Problems) -> list[tuple[str, str]]:
    """(id, path) for each record file; misnamed or stray files are reported. The path is a
    string: a big tree's thousands of files are only stat'ed on a re-check, and making and
    using a pathlib.Path costs more than the stat itself (the id and the suffix name it)."""
    directory = os.path.join(root, folder)
    if not os.path.isdir(directory):
        return []
    split, links = [], []   # names split with str methods, not Path: once for every file
    cut = len(suffix)
    with os.scandir(directory) as entries:      # scandir: no stat() per file, unlike Path.is_dir
        for entry in entries:
            name = entry.name
            if name.endswith(suffix) and entry.is_file(follow_symlinks=False) \
                    and not name.startswith("."):
                split.append((name, name[:-cut], suffix))       # the usual: a record file
                continue
            if name.startswith(".") or entry.is_dir():
                continue
            stem, ext = os.path.splitext(name)
            if entry.is_symlink() and ext.lower() not in IMAGE_SUFFIXES:  # records.media decides
                links.append(name)
                continue
            split.append((name, stem, ext))
    for name in sorted(links):
        # a link could publish any file on the machine (a database, /proc) as a record
        problems.error(f"{folder}/{name}", 0, "", LINK_MESSAGE)
    split.sort(key=_first)      # by name: comparing the names, not the tuples, is 3x faster
    stems = {stem for _name, stem, ext in split if ext == suffix and ID_RE.match(stem)}
    found = []
    base = directory + os.sep
    for name, stem, ext in split:
        if ext == suffix and stem in stems:
            found.append((stem, base + name))
            continue
        rel = f"{folder}/{name}"
        if ext.lower() in IMAGE_SUFFIXES:     # an SLE's photo lives beside its record
            continue
        if ext != suffix:
            if ext.lower() in SPELLINGS[suffix]:
                problems.error(rel, 0, "", f"is not read: records here end in {suffix}; rename it "
                               f"to {folder}/{stem}{suffix}")
            else:
                problems.warning(rel, 0, "", f"ignored: records here are {suffix} files")
        elif stem.lower() in stems:
            problems.error(rel, 0, "", f"differs only in case from {folder}/{stem.lower()}"
                           f"{suffix}; file names are ids in lower case: delete or rename one of them")
        else:
            problems.error(rel, 0, "", f"file name {stem!r} is not a valid id: use lower-case "
                           f"letters, digits and hyphens, e.g. {slug(stem)}{suffix}")
    return found


def misplaced(root: Path, problems: Problems) -> set[str]:
    """Records saved where nothing reads them: content/courses/, content/venues.yaml, ...
    Returns the shared files (e.g. 'content/venues.yml') that exist only under a wrong name."""
    content = root / "content"
    wrong = set()
    courses = content / "courses"
    if courses.is_dir():
        for file in sorted(courses.iterdir()):
            if not file.name.startswith("."):
                problems.error(f"content/courses/{file.name}", 0, "", "courses live in the "
                               f"top-level courses/ folder; move this file to courses/{file.name}")
    for name in SHARED_FILES:
        right = f"content/{name}.yml"
        for other in (f"{name}.yaml", f"{name}.YML", f"{name}.YAML"):
            if (content / other).is_file() and other in os.listdir(content):
                problems.error(f"content/{other}", 0, "", f"is not read; rename it to {right}")
                if not (root / right).exists():
                    wrong.add(right)
    return wrong
