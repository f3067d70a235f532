"""Where things live: the data directory, the shipped db/ folder."""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

import platformdirs

APP = "navigator"


def data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP, appauthor=False))


def default_db_path() -> Path:
    return data_dir() / "navigator.sqlite3"


def db_dir() -> Path:
    """The db/ folder: migrations and the return's SQL, shipped as package data."""
    packaged = resources.files("navigator") / "db"
    if packaged.is_dir():
        return Path(str(packaged))
    source = Path(__file__).resolve().parents[3] / "db"  # editable install / source checkout
    if source.is_dir():
        return source
    raise FileNotFoundError("navigator's db/ folder is missing from this installation; reinstall navigator.")


NETWORK_FS = {
    "nfs",
    "nfs4",
    "cifs",
    "smbfs",
    "smb3",
    "sshfs",
    "fuse.sshfs",
    "9p",
    "afs",
    "glusterfs",
    "fuse.glusterfs",
    "ceph",
    "fuse.ceph",
    "lustre",
    "davfs",
    "fuse.davfs",
    "fuse.s3fs",
    "fuse.rclone",
    "ncpfs",
    "coda",
    "gpfs",
    "beegfs",
    "fuse.gcsfuse",
    "virtiofs",
}


def filesystem_type(path: Path, mounts_file: str = "/proc/mounts") -> str | None:
    """The filesystem type holding ``path`` (Linux), or None if unknown."""
    try:
        target = os.path.realpath(path)
        best, best_type = "", None
        with open(mounts_file, encoding="utf-8", errors="replace") as fh:
            for line in fh:
                parts = line.split()
                if len(parts) < 3:
                    continue
                mount = parts[1].replace("\\040", " ")
                if (target == mount or target.startswith(mount.rstrip("/") + "/")) and len(mount) >= len(best):
                    best, best_type = mount, parts[2]
        return best_type
    except OSError:
        return None


def is_network_filesystem(path: Path, mounts_file: str = "/proc/mounts") -> bool:
    fstype = filesystem_type(path, mounts_file)
    return fstype is not None and fstype.lower() in NETWORK_FS
