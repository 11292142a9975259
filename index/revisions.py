"""Which git commit holds exactly the bytes that were indexed, read from a docs folder's own
checkout by the git command (nothing is fetched). A link to a repository view names that
commit, so it never drifts when the branch moves on; a file that differs from the commit
(edited, untracked, ignored) has no commit to name.
"""

from __future__ import annotations

import hashlib
import logging
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

_GIT_SECONDS = 20.0
_COMMIT = re.compile(r"^(?:[0-9a-f]{40}|[0-9a-f]{64})$")
# Reading only, in a folder someone else may own: nothing of the checkout's own configuration
# that runs programs (an fsmonitor hook) is used, and its owner is not held against it.
_READ_ONLY = ("-c", "core.fsmonitor=false", "-c", "safe.directory=*", "--no-optional-locks")


@dataclass(frozen=True)
class Checkout:
    """A docs folder inside a git checkout: the commit checked out, and the object id of each
    file below the folder in that commit (by its path inside the folder)."""

    commit: str
    blobs: dict[str, str]

    def revision_of(self, relpath: str, data: bytes) -> str:
        """The commit when it holds exactly these bytes at this path, else ""."""
        stored = self.blobs.get(relpath)
        return self.commit if stored is not None and stored == _object_id(data, len(self.commit)) else ""


def _object_id(data: bytes, length: int) -> str:
    """The id git gives a file's bytes: the hash of "blob <size>\\0" and the bytes (SHA-1, or
    SHA-256 in a repository that uses it)."""
    digest = hashlib.sha256 if length == 64 else hashlib.sha1
    return digest(b"blob %d\0" % len(data) + data).hexdigest()


def read_checkout(folder: Path) -> Checkout | None:
    """The folder's checkout, or None when it is in none (or git is not installed)."""
    commit = _git(folder, "rev-parse", "--verify", "--quiet", "HEAD^{commit}").strip()
    if not _COMMIT.match(commit):
        return None
    listing = _git(folder, "ls-tree", "-r", "-z", commit)
    blobs = {}
    for entry in listing.split("\0"):
        meta, tab, path = entry.partition("\t")
        parts = meta.split()
        if tab and len(parts) == 3 and parts[1] == "blob":
            blobs[path] = parts[2]
    return Checkout(commit, blobs)


def _git(folder: Path, *args: str) -> str:
    try:
        done = subprocess.run(["git", *_READ_ONLY, "-C", str(folder), *args], capture_output=True,
                              timeout=_GIT_SECONDS, check=False, stdin=subprocess.DEVNULL)
    except FileNotFoundError:
        return ""  # no git here: no commit to link to
    except (OSError, subprocess.TimeoutExpired) as err:
        log.warning("%s: git could not be read (%s); links name no commit", folder, err)
        return ""
    return done.stdout.decode("utf-8", "surrogateescape") if done.returncode == 0 else ""
