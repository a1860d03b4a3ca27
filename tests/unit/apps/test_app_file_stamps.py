"""What the hub stats every few seconds to see local Application files change: the files
it would read, in the same order, and a new stamp when one is edited, added or removed."""

from __future__ import annotations

from pathlib import Path

from engine.apps.sources import file_stamps, yaml_files
from engine.hub.catalog import fingerprint


def tree(root: Path) -> None:
    for name, text in {"apps/b.yaml": "x", "apps/a.yml": "y", "apps/notes.txt": "z",
                       "apps/.hidden.yaml": "h", "apps/team/z.yaml": "1",
                       "apps/team/sub/c.yaml": "2", "apps/.git/d.yaml": "3",
                       "outside/e.yaml": "4"}.items():
        file = root / name
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(text)
    (root / "apps" / "linked").symlink_to(root / "outside")  # a linked directory: not followed
    (root / "apps" / "link.yaml").symlink_to(root / "outside" / "e.yaml")  # a linked file: read


def test_the_stamped_files_are_the_files_read_in_the_same_order(tmp_path: Path) -> None:
    tree(tmp_path)
    apps = tmp_path / "apps"
    assert [p for p, _m, _s in file_stamps(apps)] == [str(f) for f in yaml_files(apps)]
    assert [p for p, _m, _s in file_stamps(apps / "a.yml")] == [str(apps / "a.yml")]
    assert list(file_stamps(tmp_path / "missing")) == []


def test_an_edit_an_addition_and_a_removal_change_the_fingerprint(tmp_path: Path) -> None:
    tree(tmp_path)
    apps = tmp_path / "apps"
    before = fingerprint([apps])
    (apps / "team" / "z.yaml").write_text("longer than before")
    edited = fingerprint([apps])
    assert edited != before
    (apps / "team" / "new.yaml").write_text("n")
    added = fingerprint([apps])
    assert added != edited
    (apps / "team" / "new.yaml").unlink()
    assert fingerprint([apps]) == edited
