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


# ---------------------------------------------------------------- the audit log's anchors outside the database

AUDIT_KEY_SUFFIX = ".audit-key"
CHECKPOINT_SUFFIX = ".audit-checkpoint"


def _server_id(url: str) -> str:
    """A stable name for a server database (host, port, database; never the user or password)."""
    import hashlib

    from sqlalchemy.engine import make_url

    u = make_url(url)
    where = f"{u.get_backend_name()}://{u.host or ''}:{u.port or ''}/{u.database or ''}"
    return hashlib.sha256(where.encode("utf-8")).hexdigest()[:16]


def audit_key_path(store_path: Path | None, url: str = "") -> Path:
    """The key that signs the audit chain: beside a SQLite store (mode 0600, created with it); for a
    PostgreSQL database, in the admin's user config folder (``~/.config/navigator/audit-keys/``)."""
    if store_path is not None:
        return store_path.with_name(store_path.name + AUDIT_KEY_SUFFIX)
    return Path(platformdirs.user_config_dir(APP, appauthor=False)) / "audit-keys" / f"{_server_id(url)}.key"


def checkpoint_path(store_path: Path | None, url: str = "") -> Path:
    """The audit chain's checkpoint (event count, head hash): beside a SQLite store; for PostgreSQL in
    the user data folder (``~/.local/share/navigator/checkpoints/``)."""
    if store_path is not None:
        return store_path.with_name(store_path.name + CHECKPOINT_SUFFIX)
    return data_dir() / "checkpoints" / f"{_server_id(url)}.json"


DAMAGED_SUFFIX = ".damaged"


def damaged_marker_path(store_path: Path) -> Path:
    """Beside a SQLite store that failed its integrity check: while it is there the store is read-only
    (``navigator doctor`` writes and clears it; ``navigator restore`` clears it)."""
    return store_path.with_name(store_path.name + DAMAGED_SUFFIX)
