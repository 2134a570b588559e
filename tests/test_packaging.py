"""The project's files agree with each other: one version, every dependency in both environments."""
import re
import tomllib
from pathlib import Path

import yaml

import qcnn

ROOT = Path(__file__).resolve().parent.parent


def test_one_version_number():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    citation = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert qcnn.__version__ == project["version"] == str(citation["version"])
    assert project["license"] == citation["license"] == "MIT" and (ROOT / "LICENSE").exists()


def test_environment_yml_lists_every_dependency():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = project["dependencies"] + [d for group in project["optional-dependencies"].values()
                                        for d in group if not d.startswith("torchvision")]
    names = {re.split(r"[<>=\[ ]", d)[0].lower() for d in wanted}
    pip = yaml.safe_load((ROOT / "environment.yml").read_text())["dependencies"][-1]["pip"]
    listed = {re.split(r"[<>=\[ ]", p)[0].lower() for p in pip if not p.startswith("-")}
    assert names <= listed, sorted(names - listed)
