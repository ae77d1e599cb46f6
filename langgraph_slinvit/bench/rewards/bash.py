"""InterCode-Bash reward, reproduced from ``intercode/envs/bash/bash_env.py`` (``get_reward``).

InterCode compares the agent's container with a gold container in which the gold command ran::

    reward = 0.01 + p1 + p2 + p3
    p1 = round(0.33 * (1 - erf(|gold_changes - agent_changes| + |agent_changes - gold_changes|)), 2)
    p2 = round(0.33 * (#same content / #common changes), 2)   (0.33 when there is none)
    p3 = round(0.33 * tfidf_cosine(agent_output, gold_output), 2)

* Changes are ``git status --short`` entries ``(path, kind)``; two entries match only if both path
  and kind agree. ``erf(1) = 0.84``, so one wrong entry leaves 0.05 and two or more leave 0.
* p2 only looks at changes present in both with an *added* kind (InterCode's filter keeps git's
  ``A``/``??``/``C``, not ``M``): modified files are not content-checked unless
  ``content_kinds`` says so. Each is compared by hash (InterCode: ``md5sum``/``md5deep -r``).
* p3 is the cosine of the TF-IDF vectors of the two outputs (sklearn ``TfidfVectorizer``
  defaults: lowercase, tokens ``\\b\\w\\w+\\b``, smooth idf ``ln(3/(1+df)) + 1``, L2 norm). When
  neither output has a token (sklearn raises on an empty vocabulary) it is 1 if the outputs are
  equal, else 0. Implemented here without sklearn.

Success is ``reward == 1.0`` (``0.01 + 3 * 0.33`` is exactly 1.0 in floating point).

File-system changes come from :func:`snapshot_tree` before and after an episode, diffed by
:func:`diff_snapshots`, which imitates ``git status``: content or executable-bit changes are
``modified`` (mtime alone is not a change), and a new directory without any previously existing
file is reported once as ``dir/`` with a hash over its whole content (git's untracked directory).
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import stat
from collections import Counter
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, NamedTuple

__all__ = [
    "BashEpisodeResult",
    "BashReward",
    "ChangeKind",
    "FileChange",
    "FileInfo",
    "bash_reward",
    "compute_bash_reward",
    "diff_snapshots",
    "snapshot_tree",
    "tfidf_cosine",
]

ChangeKind = Literal["added", "removed", "modified"]


class FileInfo(NamedTuple):
    """Snapshot entry of one file: modification time, SHA-256 of the content, mode bits."""

    mtime: float
    sha256: str
    mode: int


@dataclass(frozen=True)
class FileChange:
    """One file-system change; ``sha256`` is the new content hash (None when removed)."""

    kind: ChangeKind
    sha256: str | None = None


@dataclass(frozen=True)
class BashEpisodeResult:
    """What the reward looks at: the file-system changes and the output of the last command.

    ``stdout`` is None when nothing was run (InterCode's observation ``None``).
    """

    fs_diff: Mapping[str, FileChange] = field(default_factory=dict)
    stdout: str | None = ""


@dataclass(frozen=True)
class BashReward:
    """Reward with InterCode's three parts (each already rounded to 2 decimals)."""

    reward: float
    file_diff: float
    file_changes: float
    answer_similarity: float

    @property
    def success(self) -> bool:
        """InterCode success: reward exactly 1."""
        return self.reward == 1.0


# --------------------------------------------------------------------------- snapshots


def _hash_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def snapshot_tree(
    root: str | os.PathLike[str], *, exclude: Collection[str] = ()
) -> dict[str, FileInfo]:
    """Map every regular file and symlink under ``root`` to (mtime, sha256, mode).

    Keys are POSIX paths relative to ``root``. Symlinks are not followed (hashed as their target
    string); directories, devices, FIFOs and sockets are not entries (git tracks files only).
    ``exclude`` lists relative paths (files or directories) to leave out.
    """
    base = Path(root)
    excluded = {e.strip("/") for e in exclude}
    out: dict[str, FileInfo] = {}
    stack = [base]
    while stack:
        current = stack.pop()
        with os.scandir(current) as entries:
            for entry in entries:
                path = Path(entry.path)
                rel = path.relative_to(base).as_posix()
                if rel in excluded:
                    continue
                st = entry.stat(follow_symlinks=False)
                if stat.S_ISLNK(st.st_mode):
                    digest = hashlib.sha256(b"symlink:" + os.fsencode(os.readlink(path)))
                    out[rel] = FileInfo(st.st_mtime, digest.hexdigest(), st.st_mode)
                elif stat.S_ISDIR(st.st_mode):
                    stack.append(path)
                elif stat.S_ISREG(st.st_mode):
                    out[rel] = FileInfo(st.st_mtime, _hash_file(path), st.st_mode)
    return out


def _is_modified(old: FileInfo, new: FileInfo) -> bool:
    if old.sha256 != new.sha256:
        return True
    if stat.S_ISLNK(old.mode) != stat.S_ISLNK(new.mode):
        return True
    return bool(old.mode & stat.S_IXUSR) != bool(new.mode & stat.S_IXUSR)


def diff_snapshots(
    before: Mapping[str, FileInfo],
    after: Mapping[str, FileInfo],
    *,
    collapse_new_dirs: bool = True,
) -> dict[str, FileChange]:
    """Changes from ``before`` to ``after`` as ``git status`` would list them.

    Removed and modified files are listed one by one. An added file is listed as itself, or,
    with ``collapse_new_dirs``, as its highest ancestor directory ``d/`` that held no file in
    ``before`` (git shows such an untracked directory as one ``?? d/`` entry); the hash of a
    collapsed directory covers the relative paths and hashes of all its new files.
    """
    changes: dict[str, FileChange] = {}
    for path, old in before.items():
        new = after.get(path)
        if new is None:
            changes[path] = FileChange("removed")
        elif _is_modified(old, new):
            changes[path] = FileChange("modified", new.sha256)
    tracked_dirs: set[str] = set()
    for path in before:
        parts = path.split("/")
        tracked_dirs.update("/".join(parts[:i]) for i in range(1, len(parts)))
    groups: dict[str, list[tuple[str, str]]] = {}
    for path, new in after.items():
        if path in before:
            continue
        key = path
        if collapse_new_dirs:
            parts = path.split("/")
            for i in range(1, len(parts)):
                prefix = "/".join(parts[:i])
                if prefix not in tracked_dirs:
                    key = prefix + "/"
                    break
        groups.setdefault(key, []).append((path, new.sha256))
    for key, files in groups.items():
        if key.endswith("/"):
            h = hashlib.sha256()
            for path, digest in sorted(files):
                h.update(f"{path[len(key) :]}\0{digest}\n".encode())
            changes[key] = FileChange("added", h.hexdigest())
        else:
            changes[key] = FileChange("added", files[0][1])
    return dict(sorted(changes.items()))


# --------------------------------------------------------------------------- TF-IDF

_TOKEN_RE = re.compile(r"(?u)\b\w\w+\b")


def tfidf_cosine(a: str | None, b: str | None) -> float:
    """Cosine similarity of the TF-IDF vectors of two texts, like sklearn's ``TfidfVectorizer``
    fitted on ``[a, b]``; when that would fail (no token at all, or None) it is 1.0 if
    ``a == b`` else 0.0."""
    if a is None or b is None:
        return 1.0 if a == b else 0.0
    ta, tb = Counter(_TOKEN_RE.findall(a.lower())), Counter(_TOKEN_RE.findall(b.lower()))
    if not ta and not tb:
        return 1.0 if a == b else 0.0
    n_docs = 2
    idf = {
        term: math.log((1 + n_docs) / (1 + (term in ta) + (term in tb))) + 1.0
        for term in ta.keys() | tb.keys()
    }
    va = {t: c * idf[t] for t, c in ta.items()}
    vb = {t: c * idf[t] for t, c in tb.items()}
    na = math.sqrt(sum(v * v for v in va.values()))
    nb = math.sqrt(sum(v * v for v in vb.values()))
    if na == 0.0 or nb == 0.0:
        return 0.0
    return sum((va[t] / na) * (vb[t] / nb) for t in va.keys() & vb.keys())


# --------------------------------------------------------------------------- reward


def _change_set(diff: Mapping[str, FileChange]) -> set[tuple[str, str]]:
    return {(path, ch.kind) for path, ch in diff.items()}


def compute_bash_reward(
    agent: BashEpisodeResult,
    gold: BashEpisodeResult,
    *,
    content_kinds: Iterable[ChangeKind] = ("added",),
) -> BashReward:
    """InterCode's Bash reward with its parts (see the module docstring).

    ``content_kinds``: change kinds whose content is compared in p2; InterCode checks only
    ``added`` files; pass ``("added", "modified")`` to also check edited files.
    """
    kinds = set(content_kinds)
    reward = 0.01
    agent_set, gold_set = _change_set(agent.fs_diff), _change_set(gold.fs_diff)
    wrong = len(gold_set - agent_set) + len(agent_set - gold_set)
    p1 = round(0.33 * (1 - math.erf(wrong)), 2)
    reward += p1

    p2 = 0.33
    same = [(p, k) for p, k in agent_set & gold_set if k in kinds]
    if same:
        correct = sum(agent.fs_diff[p].sha256 == gold.fs_diff[p].sha256 for p, _ in same)
        p2 = round(0.33 * (correct / len(same)), 2)
    reward += p2

    p3 = round(0.33 * tfidf_cosine(agent.stdout, gold.stdout), 2)
    reward += p3
    return BashReward(reward, p1, p2, p3)


def bash_reward(
    agent: BashEpisodeResult,
    gold: BashEpisodeResult,
    *,
    content_kinds: Iterable[ChangeKind] = ("added",),
) -> float:
    """InterCode's Bash reward as a float; see :func:`compute_bash_reward`."""
    return compute_bash_reward(agent, gold, content_kinds=content_kinds).reward
