"""InterCode-Bash reward: TF-IDF (values from sklearn), the three parts, snapshots and diffs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from langgraph_slinvit.bench.rewards.bash import (
    BashEpisodeResult,
    FileChange,
    bash_reward,
    compute_bash_reward,
    diff_snapshots,
    snapshot_tree,
    tfidf_cosine,
)

# --------------------------------------------------------------------------- TF-IDF


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        # sklearn TfidfVectorizer().fit_transform([a, b]); (t * t.T)[0, 1]
        ("file1.txt file2.txt", "file1.txt", 0.8032002037467096),
        ("hello world", "hello there world", 0.7092972666062738),
    ],
)
def test_tfidf_matches_sklearn(a: str, b: str, expected: float) -> None:
    assert tfidf_cosine(a, b) == pytest.approx(expected, abs=1e-12)


def test_tfidf_edge_cases() -> None:
    assert tfidf_cosine("Hello World", "hello world") == pytest.approx(1.0)
    assert tfidf_cosine("", "") == 1.0  # empty vocabulary: equality decides
    assert tfidf_cosine("a", "a") == 1.0  # single-character tokens are not tokens
    assert tfidf_cosine("a", "b") == 0.0
    assert tfidf_cosine("", "some output") == 0.0
    assert tfidf_cosine(None, None) == 1.0
    assert tfidf_cosine(None, "x") == 0.0
    assert tfidf_cosine("alpha beta", "gamma delta") == 0.0


@given(st.text(max_size=40), st.text(max_size=40))
def test_tfidf_symmetric_and_bounded(a: str, b: str) -> None:
    s = tfidf_cosine(a, b)
    assert s == pytest.approx(tfidf_cosine(b, a))
    assert -1e-9 <= s <= 1 + 1e-9


# --------------------------------------------------------------------------- reward

GOLD = BashEpisodeResult(
    fs_diff={
        "testbed/new.txt": FileChange("added", "h1"),
        "testbed/old.txt": FileChange("removed"),
        "testbed/conf.ini": FileChange("modified", "h2"),
    },
    stdout="3 files changed",
)


def test_gold_against_itself_is_one() -> None:
    r = compute_bash_reward(GOLD, GOLD)
    assert (r.reward, r.file_diff, r.file_changes, r.answer_similarity) == (1.0, 0.33, 0.33, 0.33)
    assert r.success


def test_read_only_task_with_same_output() -> None:
    gold = BashEpisodeResult({}, "/testbed/alpha.java\n/testbed/beta.java\n")
    same = BashEpisodeResult({}, "/testbed/alpha.java\n/testbed/beta.java\n")
    assert bash_reward(same, gold) == 1.0
    wrong = compute_bash_reward(BashEpisodeResult({}, "/testbed/alpha.java\n"), gold)
    assert wrong.file_diff == 0.33 and wrong.file_changes == 0.33
    assert 0 < wrong.answer_similarity < 0.33 and not wrong.success


def test_single_character_tokens_are_invisible() -> None:
    # InterCode quirk kept on purpose: sklearn's token pattern drops 1-character words, so a
    # missing "/testbed/b.java" line (tokens: testbed, java) still scores full similarity.
    gold = BashEpisodeResult({}, "/testbed/a.java\n/testbed/b.java\n")
    assert bash_reward(BashEpisodeResult({}, "/testbed/a.java\n"), gold) == 1.0


def test_missing_change_costs_file_diff() -> None:
    agent = BashEpisodeResult(
        {k: v for k, v in GOLD.fs_diff.items() if k != "testbed/old.txt"}, GOLD.stdout
    )
    r = compute_bash_reward(agent, GOLD)
    assert r.file_diff == 0.05  # 0.33 * (1 - erf(1))
    assert r.reward == pytest.approx(0.01 + 0.05 + 0.33 + 0.33)
    assert r.reward < 1


def test_two_wrong_changes_give_zero_file_diff() -> None:
    agent = BashEpisodeResult({"testbed/other": FileChange("added", "x")}, GOLD.stdout)
    assert compute_bash_reward(agent, GOLD).file_diff == 0.0


def test_wrong_content_of_added_file() -> None:
    agent = BashEpisodeResult(
        {**GOLD.fs_diff, "testbed/new.txt": FileChange("added", "other")}, GOLD.stdout
    )
    r = compute_bash_reward(agent, GOLD)
    assert r.file_diff == 0.33 and r.file_changes == 0.0
    assert r.reward == pytest.approx(0.67)


def test_modified_content_checked_only_on_request() -> None:
    agent = BashEpisodeResult(
        {**GOLD.fs_diff, "testbed/conf.ini": FileChange("modified", "bad")}, GOLD.stdout
    )
    assert bash_reward(agent, GOLD) == 1.0  # InterCode ignores modified files' content
    r = compute_bash_reward(agent, GOLD, content_kinds=("added", "modified"))
    assert r.file_changes == round(0.33 * 1 / 2, 2)


def test_change_kind_must_match() -> None:
    agent = BashEpisodeResult(
        {**GOLD.fs_diff, "testbed/new.txt": FileChange("modified", "h1")}, GOLD.stdout
    )
    assert compute_bash_reward(agent, GOLD).file_diff == 0.0  # one missing + one extra


# --------------------------------------------------------------------------- snapshots


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_snapshot_and_diff(tmp_path: Path) -> None:
    root = tmp_path / "fs"
    _write(root / "testbed" / "a.txt", "A")
    _write(root / "testbed" / "b.txt", "B")
    _write(root / "testbed" / "dir" / "c.sh", "echo c")
    (root / "empty").mkdir()
    os.symlink("a.txt", root / "testbed" / "link")
    before = snapshot_tree(root)
    assert set(before) == {"testbed/a.txt", "testbed/b.txt", "testbed/dir/c.sh", "testbed/link"}

    (root / "testbed" / "b.txt").unlink()  # removed
    _write(root / "testbed" / "a.txt", "A2")  # modified
    os.chmod(root / "testbed" / "dir" / "c.sh", 0o755)  # exec bit: modified, as in git
    os.utime(root / "testbed" / "link", follow_symlinks=False)  # mtime only: no change
    _write(root / "testbed" / "new.txt", "N")  # added file in a tracked dir
    _write(root / "testbed" / "newdir" / "x" / "y.txt", "Y")  # new dir: collapsed
    _write(root / "testbed" / "newdir" / "z.txt", "Z")
    _write(root / "empty" / "e.txt", "E")  # dir without tracked files: collapsed
    after = snapshot_tree(root)

    diff = diff_snapshots(before, after)
    assert {k: v.kind for k, v in diff.items()} == {
        "empty/": "added",
        "testbed/a.txt": "modified",
        "testbed/b.txt": "removed",
        "testbed/dir/c.sh": "modified",
        "testbed/new.txt": "added",
        "testbed/newdir/": "added",
    }
    assert diff["testbed/b.txt"].sha256 is None
    assert diff["testbed/a.txt"].sha256 == after["testbed/a.txt"].sha256

    flat = diff_snapshots(before, after, collapse_new_dirs=False)
    assert {"testbed/newdir/x/y.txt", "testbed/newdir/z.txt", "empty/e.txt"} <= set(flat)


def test_collapsed_dir_hash_depends_on_content(tmp_path: Path) -> None:
    hashes = []
    for content in ("one", "one", "two"):
        root = tmp_path / content / str(len(hashes))
        root.mkdir(parents=True)
        before = snapshot_tree(root)
        _write(root / "out" / "f.txt", content)
        hashes.append(diff_snapshots(before, snapshot_tree(root))["out/"].sha256)
    assert hashes[0] == hashes[1] != hashes[2]


def test_snapshot_exclude(tmp_path: Path) -> None:
    _write(tmp_path / "keep.txt", "k")
    _write(tmp_path / "proc" / "x", "x")
    assert set(snapshot_tree(tmp_path, exclude=["proc"])) == {"keep.txt"}
