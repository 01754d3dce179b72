import os
import stat
import threading

import pytest

from interviewer.files import write_atomic


def test_replaces_the_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "sub" / "config.toml"
    write_atomic(target, "a = 1\n")
    write_atomic(target, "a = 2\n")
    assert target.read_text(encoding="utf-8") == "a = 2\n"
    assert sorted(p.name for p in target.parent.iterdir()) == ["config.toml"]


def test_text_is_utf8_and_bytes_are_kept(tmp_path):
    write_atomic(tmp_path / "t.txt", "大模型")
    assert (tmp_path / "t.txt").read_bytes() == "大模型".encode()
    write_atomic(tmp_path / "b.bin", b"\x00\xff")
    assert (tmp_path / "b.bin").read_bytes() == b"\x00\xff"


def test_mode_is_applied(tmp_path):
    write_atomic(tmp_path / "key", "secret", mode=0o600)
    assert stat.S_IMODE(os.stat(tmp_path / "key").st_mode) == 0o600


def test_a_failed_write_keeps_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "state.json"
    target.write_text("old", encoding="utf-8")

    def broken_fsync(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="No space"):
        write_atomic(target, "new")
    assert target.read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]


def test_concurrent_writers_never_mix(tmp_path):
    target = tmp_path / "shared.json"
    texts = [str(i) * 10_000 for i in range(8)]
    threads = [threading.Thread(target=write_atomic, args=(target, t)) for t in texts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert target.read_text(encoding="utf-8") in texts
    assert [p.name for p in tmp_path.iterdir()] == ["shared.json"]


def test_a_new_file_follows_the_umask_and_a_replaced_one_keeps_its_mode(tmp_path):
    old = os.umask(0o027)
    try:
        write_atomic(tmp_path / "report.html", "<p>")
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(tmp_path / "report.html").st_mode) == 0o640
    (tmp_path / "report.html").chmod(0o604)
    write_atomic(tmp_path / "report.html", "<p>again")
    assert stat.S_IMODE(os.stat(tmp_path / "report.html").st_mode) == 0o604
