"""Debian packages as the source of freely licensed recordings: fetching, extracting, finding.

`apt-get download` fetches a package's .deb into a cache folder and `dpkg -x`
unpacks it there; nothing is installed. An unpacked package is a folder with
`usr/share/doc/<package>/copyright`, which is all the rest of the builder
relies on, so a test can lay out such a folder by hand.
"""

from __future__ import annotations

import gzip
import re
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import FoleyError

DEFAULT_PACKAGES: tuple[str, ...] = ("minetest-data", "sonic-pi-samples", "openttd-opensfx", "ufoai-sound")

# Where a package installs the files that its copyright file names by their
# upstream paths (DEP-5 patterns are written against the source tree). Each
# pair maps an installed prefix onto the source prefix it came from.
SOURCE_ROOTS: dict[str, tuple[tuple[str, str], ...]] = {
    "minetest-data": (("usr/share/games/minetest/games/minetest_game/", "mtg/"),),
    "sonic-pi-samples": (("usr/share/sonic-pi/samples/", "etc/samples/"),),
    # The sounds of opensfx.cat are built from upstream's src/wav/ files.
    "openttd-opensfx": (("usr/share/games/openttd/baseset/opensfx/opensfx.cat/", "src/wav/"),),
}


class PackageError(FoleyError):
    """A package cannot be downloaded, unpacked or found."""


@dataclass(frozen=True)
class PackageRoot:
    """An unpacked package: its name, the folder it was unpacked into and its Debian version."""

    name: str
    root: Path
    version: str

    @property
    def copyright_path(self) -> Path:
        """The package's DEP-5 copyright file."""
        return self.root / "usr" / "share" / "doc" / self.name / "copyright"


def _run(command: Sequence[str], cwd: Path) -> None:
    try:
        result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise PackageError(f"{command[0]} is not available; the builder needs a Debian-based system") from None
    if result.returncode != 0:
        raise PackageError(f"{' '.join(command)} failed: {result.stderr.strip()[-500:]}")


def fetch_packages(packages: Sequence[str], cache: Path) -> list[PackageRoot]:
    """Download (once) and unpack (once) each package under `cache`, returning the unpacked roots.

    `cache/debs/` keeps the .deb files and `cache/unpacked/<package>/` the
    extracted trees, so a rebuild works offline.
    """
    # Absolute: the commands below run with the cache folders as their working directory.
    cache = cache.resolve()
    debs, unpacked = cache / "debs", cache / "unpacked"
    debs.mkdir(parents=True, exist_ok=True)
    unpacked.mkdir(parents=True, exist_ok=True)
    roots = []
    for package in packages:
        target = unpacked / package
        if not target.is_dir():
            found = sorted(debs.glob(f"{package}_*.deb"))
            if not found:
                # Needs the package lists: on a fresh machine run `apt-get update` once first.
                _run(["apt-get", "download", package], cwd=debs)
                found = sorted(debs.glob(f"{package}_*.deb"))
                if not found:
                    raise PackageError(f"apt-get download {package} left no .deb in {debs} (run apt-get update?)")
            partial = unpacked / f".{package}.partial"
            shutil.rmtree(partial, ignore_errors=True)
            _run(["dpkg", "-x", str(found[-1].resolve()), str(partial)], cwd=unpacked)
            partial.rename(target)
        roots.append(package_root(target))
    return roots


def _version(root: Path, name: str) -> str:
    changelog = root / "usr" / "share" / "doc" / name / "changelog.Debian.gz"
    if not changelog.is_file():
        return ""
    with gzip.open(changelog, "rt", encoding="utf-8", errors="replace") as handle:
        match = re.match(r"\S+ \(([^)]+)\)", handle.readline())
    return match.group(1) if match else ""


def package_root(root: Path) -> PackageRoot:
    """The package unpacked at `root`, named by its single `usr/share/doc/<name>/copyright`."""
    names = sorted(path.parent.name for path in (root / "usr" / "share" / "doc").glob("*/copyright"))
    if len(names) != 1:
        found = ", ".join(names) or "none"
        raise PackageError(f"{root}: expected one usr/share/doc/<package>/copyright, found {found}")
    return PackageRoot(name=names[0], root=root, version=_version(root, names[0]))


def find_package_roots(folder: Path) -> list[PackageRoot]:
    """The unpacked packages in `folder`: the folder itself, or each of its subfolders that is one."""
    if not folder.is_dir():
        raise PackageError(f"{folder}: no such folder of recordings")
    if (folder / "usr" / "share" / "doc").is_dir():
        return [package_root(folder)]
    roots = [package_root(sub) for sub in sorted(folder.iterdir()) if (sub / "usr" / "share" / "doc").is_dir()]
    if not roots:
        raise PackageError(f"{folder}: no unpacked package (usr/share/doc/<package>/copyright) found")
    return roots


def source_candidates(package: str, installed_path: str) -> list[str]:
    """The paths a copyright file may use for an installed file.

    Known packages map their install prefixes onto upstream prefixes; every
    package also tries the trailing parts of the path, so a pattern such as
    `base/sound/*` finds `usr/share/games/ufoai/base/sound/x.ogg`.
    """
    candidates = [
        source + installed_path[len(prefix) :]
        for prefix, source in SOURCE_ROOTS.get(package, ())
        if installed_path.startswith(prefix)
    ]
    parts = installed_path.split("/")
    candidates.extend("/".join(parts[index:]) for index in range(len(parts)))
    return candidates
