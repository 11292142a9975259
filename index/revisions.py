"""Which git commit holds exactly the bytes that were indexed, read from a docs folder's own
checkout by the git command (nothing is fetched). A link to a repository view names that
commit, so it never drifts when the branch moves on; a file that differs from the commit
(edited, untracked, ignored) has no commit to name.
"""

from __future__ import annotations

import hashlib
import logging
import os
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

    folder: Path
    commit: str
    blobs: dict[str, str]

    def revisions(self, files: list[tuple[str, bytes]]) -> dict[str, str]:
        """For each (path inside the folder, bytes read): the commit when it holds exactly these
        bytes at this path, else ""."""
        found, unsure = {}, []
        for relpath, data in files:
            stored = self.blobs.get(relpath)
            if stored is not None and stored == _object_id(data, len(self.commit)):
                found[relpath] = self.commit
            elif stored is not None and "\n" not in relpath and _on_disk(self.folder / relpath) == data:
                unsure.append(relpath)  # git hashes the file on disk: only when it is still what was read
            else:
                found[relpath] = ""
        if unsure:  # a checkout that converts line endings (core.autocrlf, .gitattributes) stores other bytes
            ids = _git(self.folder, "hash-object", "--stdin-paths", given="\n".join(unsure) + "\n").split()
            matched = len(ids) == len(unsure)
            for relpath, made in zip(unsure, ids if matched else [""] * len(unsure)):
                found[relpath] = self.commit if made == self.blobs[relpath] else ""
        return found


def _on_disk(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


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
    return Checkout(folder, commit, blobs)


def _git(folder: Path, *args: str, given: str = "") -> str:
    # Only this folder's own repository, whatever the environment names (a hook's GIT_DIR), and
    # nothing fetched for a partial clone.
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(GIT_NO_LAZY_FETCH="1", GIT_TERMINAL_PROMPT="0", GIT_OPTIONAL_LOCKS="0")
    try:
        done = subprocess.run(["git", *_READ_ONLY, "-C", str(folder), *args], capture_output=True, env=env,
                              input=given.encode("utf-8", "surrogateescape"), timeout=_GIT_SECONDS, check=False)
    except FileNotFoundError:
        return ""  # no git here: no commit to link to
    except (OSError, subprocess.TimeoutExpired) as err:
        log.warning("%s: git could not be read (%s); links name no commit", folder, err)
        return ""
    return done.stdout.decode("utf-8", "surrogateescape") if done.returncode == 0 else ""
