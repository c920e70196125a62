"""The GitHub workflow that ships with the project (.github/workflows/site.yml) and the
pre-commit hook: linted against the workflow schema, and their steps run here, on a tree with
planted mistakes, asserting the annotations GitHub would show on the changed lines."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
WORKFLOW = REPO / ".github" / "workflows" / "site.yml"
PRECOMMIT = REPO / ".pre-commit-config.yaml"
BIN = Path(sys.executable).parent
ANNOTATION = re.compile(r"^::(?P<kind>error|warning) (?P<props>[^:]*)::(?P<message>.*)$")


def workflow() -> dict:
    # PyYAML reads the key `on` as True (YAML 1.1); GitHub reads it as "on"
    data = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    data["on"] = data.pop(True, data.get("on"))
    return data


def steps(job: str) -> dict[str, dict]:
    return {step.get("id") or step.get("name") or step["uses"]: step
            for step in workflow()["jobs"][job]["steps"]}


def unescape(text: str) -> str:
    """GitHub's runner reading of workflow-command escapes (toolkit's escapeData/escapeProperty)."""
    for code, char in (("%3A", ":"), ("%2C", ","), ("%0D", "\r"), ("%0A", "\n"), ("%25", "%")):
        text = text.replace(code, char)
    return text


def annotations(output: str) -> list[dict]:
    found = []
    for line in output.splitlines():
        match = ANNOTATION.match(line)
        if match:
            props = dict(p.split("=", 1) for p in match["props"].split(","))
            found.append({"kind": match["kind"], **{k: unescape(v) for k, v in props.items()},
                          "message": unescape(match["message"])})
    return found


# --- lint -------------------------------------------------------------------------------------

def test_workflow_passes_the_github_workflow_schema():
    checker = BIN / "check-jsonschema"
    result = subprocess.run([str(checker), "--builtin-schema", "vendor.github-workflows", str(WORKFLOW)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_workflow_schema_check_can_fail(tmp_path):
    broken = tmp_path / "site.yml"
    broken.write_text(WORKFLOW.read_text().replace("runs-on: ubuntu-latest", "runs_on: ubuntu-latest", 1))
    result = subprocess.run([str(BIN / "check-jsonschema"), "--builtin-schema",
                             "vendor.github-workflows", str(broken)], capture_output=True, text=True)
    assert result.returncode == 1


def test_workflow_runs_on_every_push_and_pull_request_and_deploys_main_only():
    flow = workflow()
    assert {"push", "pull_request"} <= set(flow["on"])
    assert flow["on"]["push"] is None and flow["on"]["pull_request"] is None   # every branch
    build, deploy = flow["jobs"]["build"], flow["jobs"]["deploy"]
    used = [s.get("uses", "").split("@")[0] for s in build["steps"]]
    assert used.index("actions/upload-artifact") > list(steps("build")).index("build")
    assert "actions/configure-pages" in used and "actions/upload-pages-artifact" in used
    assert [s["uses"].split("@")[0] for s in deploy["steps"]] == ["actions/deploy-pages"]
    main_only = "github.event_name == 'push' && github.ref == 'refs/heads/main'"
    assert deploy["if"] == main_only and deploy["needs"] == "build"
    for step in build["steps"]:
        if "pages" in step.get("uses", ""):
            assert step["if"] == main_only
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}
    assert flow["permissions"] == {"contents": "read"}


def test_workflow_caches_the_python_environment_keyed_on_the_requirements():
    cache = next(s for s in workflow()["jobs"]["build"]["steps"] if s.get("uses", "").startswith("actions/cache@"))
    assert cache["with"]["path"] == ".venv"
    assert "hashFiles('requirements.txt')" in cache["with"]["key"]
    assert "python-version" in cache["with"]["key"]


# --- the steps, run here ------------------------------------------------------------------

def checkout(tmp_path: Path) -> Path:
    """What actions/checkout gives the job: the repository's code and records (the Python
    environment taken from this one, as the cache step restores it)."""
    root = tmp_path / "checkout"
    root.mkdir()
    for name in ("content", "courses"):
        shutil.copytree(REPO / name, root / name)
    for name in ("build.py", "records", "website", "site_templates", "overrides", "mkdocs.yml"):
        if (REPO / name).exists():
            (root / name).symlink_to(REPO / name)
    (root / ".venv").symlink_to(BIN.parent)
    return root


def run_step(root: Path, step: dict) -> subprocess.CompletedProcess:
    env = {**os.environ, "GITHUB_ACTIONS": "true", "CI": "true"}
    return subprocess.run(["bash", "-e", "-c", step["run"]], cwd=root, env=env,
                          capture_output=True, text=True, timeout=600)


def plant(root: Path) -> None:
    """Four mistakes an editor makes in the web editor, in three files."""
    course = root / "courses" / "phonics-refresher.md"
    text = course.read_text(encoding="utf-8")
    text = text.replace("strand: cpd", "strand: cdp")
    text = text.replace("facilitators: [zoe-hartley]", "facilitators: [Zoe Hartley]")
    text = text.replace("places: 40", "plces: 40")
    course.write_text(text, encoding="utf-8")
    school = root / "content" / "schools" / "saltmere-primary.yml"
    school.write_text(school.read_text().replace("name: Saltmere Primary School",
                                                 "name: Saltmere Primary: a 100% school"))
    (root / "courses" / "Phonics-Refresher.md").write_text(text, encoding="utf-8")


def test_check_step_annotates_each_planted_mistake_on_its_line(tmp_path):
    root = checkout(tmp_path)
    plant(root)
    result = run_step(root, steps("build")["check"])
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    found = annotations(result.stdout)
    assert found == [
        {"kind": "error", "file": "content/schools/saltmere-primary.yml", "line": "1", "title": "name",
         "message": "name: the value holds ': ' (colon and space), which YAML reads as a new field; "
                    "put the whole value in double quotes: name: \"Saltmere Primary: a 100% school\""},
        {"kind": "error", "file": "courses/Phonics-Refresher.md", "title": "Phonics-Refresher.md",
         "message": "differs only in case from courses/phonics-refresher.md; file names are ids in "
                    "lower case: delete or rename one of them"},
        {"kind": "error", "file": "courses/phonics-refresher.md", "line": "3", "title": "strand",
         "message": "strand: 'cdp' is not one of itt, cpd, leadership, school-support, sle, "
                    "research; did you mean 'cpd'?"},
        {"kind": "error", "file": "courses/phonics-refresher.md", "line": "12",
         "title": "facilitators[1]",
         "message": "facilitators[1]: 'Zoe Hartley' is a name; write the SLE's id: zoe-hartley"},
        {"kind": "warning", "file": "courses/phonics-refresher.md", "line": "14", "title": "plces",
         "message": "plces: unknown field; did you mean 'places'?"},
    ]
    assert result.stdout.splitlines()[-1].startswith("Checked ")
    assert result.stdout.splitlines()[-1].endswith("(4 errors, 1 warning)")


def test_check_and_build_steps_pass_on_the_clean_tree_and_build_the_site(tmp_path):
    root = checkout(tmp_path)
    result = run_step(root, steps("build")["check"])
    assert result.returncode == 0, result.stdout + result.stderr
    assert annotations(result.stdout) == []
    built = run_step(root, steps("build")["build"])
    assert built.returncode == 0, built.stdout + built.stderr
    assert (root / "site" / "index.html").is_file()     # what the upload steps take
    assert (root / "site" / "prospectus.pdf").is_file()


# --- pre-commit -------------------------------------------------------------------------------

@pytest.fixture
def precommit_repo(tmp_path) -> Path:
    root = checkout(tmp_path)
    shutil.copy(PRECOMMIT, root / ".pre-commit-config.yaml")
    git = ["git", "-C", str(root)]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "content", "courses", ".pre-commit-config.yaml"], check=True)
    return root


def precommit(root: Path, *files: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PRE_COMMIT_HOME": str(root.parent / "pre-commit-home")}
    return subprocess.run([str(BIN / "pre-commit"), "run", "--files", *files], cwd=root, env=env,
                          capture_output=True, text=True, timeout=300)


def test_precommit_config_is_valid():
    result = subprocess.run([str(BIN / "pre-commit"), "validate-config", str(PRECOMMIT)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_precommit_checks_a_changed_record(precommit_repo):
    course = precommit_repo / "courses" / "phonics-refresher.md"
    course.write_text(course.read_text().replace("strand: cpd", "strand: cdp"))
    result = precommit(precommit_repo, "courses/phonics-refresher.md")
    assert result.returncode == 1
    assert ("courses/phonics-refresher.md:3: strand: 'cdp' is not one of itt, cpd, leadership, "
            "school-support, sle, research; did you mean 'cpd'?") in result.stdout.splitlines()
    readme = precommit_repo / "notes.txt"
    readme.write_text("not a record\n")
    skipped = precommit(precommit_repo, "notes.txt")      # nothing to check: no record changed
    assert skipped.returncode == 0 and "Skipped" in skipped.stdout
