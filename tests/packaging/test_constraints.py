"""pyproject.toml states ranges, constraints.txt the exact versions tested: every dependency
of every extra is pinned there, within its range, and every way of installing the project
for tests or deployment installs with those pins."""

from __future__ import annotations

import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

REPO = Path(__file__).resolve().parents[2]


def requirements() -> list[Requirement]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    extras: dict[str, list[str]] = project["optional-dependencies"]
    return [Requirement(line) for line in project["dependencies"]] + [
        Requirement(line) for lines in extras.values() for line in lines
    ]


def pins() -> dict[str, Version]:
    pinned: dict[str, Version] = {}
    for line in (REPO / "constraints.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, version = line.partition("==")
            pinned[canonicalize_name(name)] = Version(version)
    return pinned


def test_every_dependency_is_a_bounded_range() -> None:
    for requirement in requirements():
        operators = {spec.operator for spec in requirement.specifier}
        assert operators == {">=", "<"}, str(requirement)


def test_every_dependency_is_pinned_within_its_range() -> None:
    pinned = pins()
    for requirement in requirements():
        version = pinned.get(canonicalize_name(requirement.name))
        assert version is not None, f"{requirement.name} is not in constraints.txt"
        assert requirement.specifier.contains(version, prereleases=True), (
            f"constraints.txt pins {requirement.name}=={version} outside {requirement.specifier}"
        )


def test_the_test_script_the_makefile_and_the_image_install_with_the_constraints() -> None:
    test_script = (REPO / "scripts" / "test.sh").read_text()
    assert '-c constraints.txt -e ".[server,test,dev,libvirt]"' in test_script
    makefile = (REPO / "Makefile").read_text()
    assert '-c constraints.txt -e ".[server,test,dev,libvirt]"' in makefile
    dockerfile = (REPO / "deploy" / "Dockerfile").read_text()
    assert '-c constraints.txt ".[server,libvirt]"' in dockerfile
    assert (REPO / ".ci" / "run").read_text().rstrip().endswith("exec ./scripts/test.sh")
