"""The split map's sorted tables: every entry found, every other key missed, the whole map rebuilt."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from split_shapes import SHAPES, Repo

from releasetool.split import cache, maptable, split_repository
from releasetool.split.engine import PathMap, SplitState


def _random_state(rng: random.Random, size: int, width: int) -> SplitState:
    def oid() -> str:
        return rng.randbytes(width).hex()

    state = SplitState()
    for _ in range(size):
        source = oid()
        kind = rng.choice("tsp")
        state.mapping[source] = source if kind == "s" else oid()
        state.kinds[source] = kind
        if rng.random() < 0.2:
            state.notree[oid()] = None
        if rng.random() < 0.4:
            split = oid()
            state.created[split] = (oid(), tuple(oid() for _ in range(rng.choice((0, 1, 1, 2, 3)))))
            state.levels[split] = rng.randrange(1, 1 << 31)
        if rng.random() < 0.05:
            state.toptrees[oid()] = oid()
    state.trailers = {oid() for _ in range(rng.randrange(3))}
    return state


@pytest.mark.parametrize(("size", "width"), [(0, 20), (1, 20), (300, 20), (5000, 20), (200, 32)])
def test_every_entry_is_found_and_nothing_else(size: int, width: int) -> None:
    rng = random.Random(size * 31 + width)
    state = _random_state(rng, size, width)
    tips = [rng.randbytes(width).hex() for _ in range(3)]
    lazy, read_tips = maptable.decode(maptable.encode(state, tips))
    assert read_tips == tips
    assert lazy.trailers == state.trailers
    for name in ("mapping", "kinds", "notree", "created", "toptrees", "levels"):
        expected, got = getattr(state, name), getattr(lazy, name)
        assert dict.__len__(got) == 0  # nothing read before it is asked for
        for key, value in expected.items():
            assert key in got and got[key] == value and got.get(key) == value
        for _ in range(50):
            stranger = rng.randbytes(width).hex()
            assert stranger not in got and got.get(stranger, "none") == "none"
            with pytest.raises(KeyError):
                got[stranger]
        assert "not an id" not in got
        assert got.added == {}
        assert maptable.materialize(lazy).__dict__[name] == dict(expected)


def test_assignments_are_remembered_as_added() -> None:
    state = _random_state(random.Random(7), 50, 20)
    lazy, _ = maptable.decode(maptable.encode(state, []))
    known = next(iter(state.mapping))
    assert lazy.mapping[known] == state.mapping[known]
    lazy.mapping["ab" * 20] = "cd" * 20
    assert lazy.mapping.added == {"ab" * 20: "cd" * 20}
    assert maptable.materialize(lazy).mapping == {**state.mapping, "ab" * 20: "cd" * 20}


def test_a_truncated_map_is_refused() -> None:
    body = maptable.encode(_random_state(random.Random(3), 100, 20), [])
    with pytest.raises(ValueError):
        maptable.decode(body[: len(body) // 2])


def test_deltas_fold_into_a_new_map(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = Repo(tmp_path / "repo")
    SHAPES["merge-both-sides"][0](repo)
    split_repository(repo.path, "d")
    path = Path(cache.cache_path(repo.path / ".git", [PathMap("d")], b""))
    first_map = path.read_bytes()
    monkeypatch.setattr(cache, "COMPACT_AT", 600)  # a few records
    folded = False
    for i in range(8):
        repo.write(f"d/step{i}")
        repo.commit(f"step {i}")
        result = split_repository(repo.path, "d")
        assert result.mode == "incremental"
        assert result.head == repo.subtree_split("d")
        folded = folded or not Path(cache.delta_path(str(path))).exists()
    assert folded and path.read_bytes() != first_map
    loaded = cache.load(str(path))
    assert loaded is not None
    plain = maptable.materialize(loaded.state)
    assert plain.mapping[repo.git("rev-parse", "HEAD")] == result.head
