"""Mail from files: mbox (incl. Google Takeout) and Maildir, headers only, resumable
(issue 12, point 1). Real files in tmp_path, written by testing.mailgen."""

from __future__ import annotations

import dataclasses
import inspect
import json
import os
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

import pytest

from cmr_desktop.mail import mbox as mbox_module
from cmr_desktop.mail.errors import MailError
from cmr_desktop.mail.files import source_for_path
from cmr_desktop.mail.headers import MailHeaders, MailSource, Skipped
from cmr_desktop.mail.maildir import MaildirSource
from cmr_desktop.mail.mbox import MboxSource
from cmr_desktop.testing.mailgen import GenMessage, messages, write_maildir, write_mbox


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every mbox test runs twice: split into messages in this process, and in the worker
    process that large files get (``mbox._worker_cuts``)."""
    func = metafunc.function
    if "MboxSource" in inspect.getsource(func) and "worker" not in func.__name__:
        metafunc.fixturenames.append("split")
        metafunc.parametrize("split", ["here", "worker"], indirect=True)


@pytest.fixture
def split(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    worker = request.param == "worker"
    monkeypatch.setattr(mbox_module, "SPLIT_IN_WORKER_FROM", 0 if worker else 1 << 62)
    return str(request.param)


def scan_all(
    source: MailSource, resume: dict[str, object] | None = None
) -> tuple[list[MailHeaders | Skipped], dict[str, object]]:
    run = source.scan(resume)
    try:
        items = list(run)
        return items, json.loads(json.dumps(run.resume_point()))  # JSON-able
    finally:
        run.close()


def ids(items: Iterable[MailHeaders | Skipped]) -> list[str]:
    return [i.message_id for i in items if isinstance(i, MailHeaders)]


def expected_ids(msgs: Iterable[GenMessage]) -> list[str]:
    return [m.expected.message_id for m in msgs]


def test_an_mbox_reads_every_message_as_written(tmp_path: Path) -> None:
    msgs = list(messages(seed=21, n=300))
    write_mbox(tmp_path / "inbox.mbox", msgs)
    items, _ = scan_all(MboxSource(tmp_path / "inbox.mbox"))
    assert [dataclasses.replace(i, where="") for i in items] == [m.expected for m in msgs]
    assert items[0].where == "inbox.mbox at byte 0"


@pytest.mark.parametrize("chunk", [97, 4096, 65536])
def test_messages_across_read_chunks_read_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    msgs = list(messages(seed=22, n=120, body_bytes=3000))
    write_mbox(tmp_path / "inbox.mbox", msgs)
    monkeypatch.setattr(mbox_module, "CHUNK", chunk)
    items, _ = scan_all(MboxSource(tmp_path / "inbox.mbox"))
    assert [dataclasses.replace(i, where="") for i in items] == [m.expected for m in msgs]


def test_a_google_takeout_mbox_reads_every_message(tmp_path: Path) -> None:
    msgs = list(messages(seed=23, n=200))
    path = tmp_path / "All mail Including Spam and Trash.mbox"
    write_mbox(path, msgs, takeout=True)
    assert path.read_bytes().count(b"\r\n") > 1000  # CRLF, as Takeout writes it
    items, _ = scan_all(source_for_path(path))
    assert [dataclasses.replace(i, where="") for i in items] == [m.expected for m in msgs]


def test_a_second_mbox_scan_reads_only_the_mail_appended_since(tmp_path: Path) -> None:
    path = tmp_path / "inbox.mbox"
    msgs = list(messages(seed=24, n=150))
    write_mbox(path, msgs[:100])
    first, point = scan_all(MboxSource(path))
    assert ids(first) == expected_ids(msgs[:100])
    again, point = scan_all(MboxSource(path), point)
    assert again == []
    write_mbox(path, msgs[100:], append=True)
    new, _ = scan_all(MboxSource(path), point)
    assert ids(new) == expected_ids(msgs[100:])


def test_a_cancelled_mbox_scan_resumes_without_loss_or_repeat(tmp_path: Path) -> None:
    path = tmp_path / "inbox.mbox"
    msgs = list(messages(seed=25, n=200, body_bytes=5000))
    write_mbox(path, msgs)
    seen: list[str] = []
    point: dict[str, object] | None = None
    for stop_after in (1, 37, 80):  # cancel after that many, three times, then to the end
        run = MboxSource(path).scan(point)
        for n, item in enumerate(run, 1):
            assert isinstance(item, MailHeaders)
            seen.append(item.message_id)
            if n == stop_after:
                break
        point = run.resume_point()
        run.close()
    rest, _ = scan_all(MboxSource(path), point)
    assert seen + ids(rest) == expected_ids(msgs)


def test_asking_for_the_resume_point_during_a_scan_changes_nothing_it_reads(
    tmp_path: Path,
) -> None:
    # The discovery stores the resume point after every batch, in the middle of the scan.
    path = tmp_path / "inbox.mbox"
    msgs = list(messages(seed=27, n=120, body_bytes=30_000))  # > 1 MiB: several reads
    write_mbox(path, msgs)
    run = MboxSource(path).scan(None)
    seen, points = [], []
    for item in run:
        assert isinstance(item, MailHeaders)
        seen.append(item.message_id)
        points.append(run.resume_point())
    run.close()
    assert seen == expected_ids(msgs)
    rest, _ = scan_all(MboxSource(path), points[49])  # as after a cancel at message 50
    assert ids(rest) == expected_ids(msgs)[50:]


def test_a_shrunk_or_rewritten_mbox_is_read_again_from_the_start(tmp_path: Path) -> None:
    path = tmp_path / "inbox.mbox"
    msgs = list(messages(seed=26, n=60))
    write_mbox(path, msgs)
    _, point = scan_all(MboxSource(path))

    write_mbox(path, msgs[:30])  # shrunk (a mail client compacted it)
    items, _ = scan_all(MboxSource(path), point)
    assert ids(items) == expected_ids(msgs[:30])

    others = list(messages(seed=27, n=80))
    write_mbox(path, others)  # rewritten, now bigger: the bytes before the offset changed
    items, _ = scan_all(MboxSource(path), point)
    assert ids(items) == expected_ids(others)

    write_mbox(path, msgs)  # same size as when read, but written again
    os.utime(path, ns=(1, 1))
    items, _ = scan_all(MboxSource(path), point)
    assert ids(items) == expected_ids(msgs)

    # Edited before the offset (the same length: a flag changed), then mail appended.
    data = path.read_bytes()
    path.write_bytes(data.replace(b"To: me@example.com", b"To: me@example.net", 1))
    write_mbox(path, others[:5], append=True)
    items, _ = scan_all(MboxSource(path), point)
    assert ids(items) == expected_ids(msgs + others[:5])


def test_an_unescaped_from_line_in_a_body_does_not_split_the_message(tmp_path: Path) -> None:
    path = tmp_path / "mboxo"
    path.write_bytes(
        b"From a@b.example Mon Jun  1 10:00:00 2026\n"
        b"From: a@b.example\nMessage-ID: <one@b.example>\n\n"
        b"Hello\nFrom the team at our shop: thank you!\n\n"
        b"From c@d.example Mon Jun  1 11:00:00 2026\n"
        b"From: c@d.example\nMessage-ID: <two@d.example>\n\nbye\n"
    )
    items, _ = scan_all(MboxSource(path))
    assert ids(items) == ["one@b.example", "two@d.example"]


def test_the_mbox_scan_never_reads_a_body(tmp_path: Path) -> None:
    path = tmp_path / "inbox.mbox"
    path.write_bytes(
        b"From a@b.example Mon Jun  1 10:00:00 2026\n"
        b"From: a@b.example\n\n"
        b"List-Unsubscribe: <https://in-the-body.example>\n"
        b"List-Id: <body.example>\nDKIM-Signature: d=body.example\n\n"
    )
    (item,), _ = scan_all(MboxSource(path))
    assert isinstance(item, MailHeaders)
    assert (item.list_unsubscribe, item.list_id, item.dkim_domains) == ((), "", ())


def test_a_message_without_from_in_an_mbox_is_skipped_and_the_scan_goes_on(
    tmp_path: Path,
) -> None:
    path = tmp_path / "inbox.mbox"
    msgs = list(messages(seed=28, n=3))
    write_mbox(path, msgs[:1])
    with open(path, "ab") as f:
        f.write(b"From x Mon Jun  1 10:00:00 2026\nSubject: no sender\n\nbody\n\n")
    write_mbox(path, msgs[1:], append=True)
    items, _ = scan_all(MboxSource(path))
    assert len(items) == 4
    skipped = items[1]
    assert isinstance(skipped, Skipped)
    assert skipped.reason == "no From field"
    assert skipped.where.startswith("inbox.mbox at byte ")
    assert ids(items) == expected_ids(msgs)


def test_a_maildir_reads_cur_and_new_and_knows_its_total(tmp_path: Path) -> None:
    msgs = list(messages(seed=31, n=50))
    files = write_maildir(tmp_path / "Maildir", msgs, new_every=3)
    assert {f.parent.name for f in files} == {"cur", "new"}
    run = MaildirSource(tmp_path / "Maildir").scan()
    assert run.total == 50
    items = list(run)
    run.close()
    got = {i.message_id: i for i in items if isinstance(i, MailHeaders)}
    assert len(got) == 50
    for m in msgs:
        item = got[m.expected.message_id]
        assert item == dataclasses.replace(m.expected, where=item.where)
        assert item.where.startswith(("cur/", "new/"))


def _deliver(root: Path, msgs: list[GenMessage], start: int, mtime_s: int) -> list[Path]:
    files = write_maildir(root, msgs, start=start)
    for k, f in enumerate(files):  # delivery times in message order
        os.utime(f, ns=(0, (mtime_s + k) * 10**9))
    return files


def test_a_second_maildir_scan_reads_only_new_deliveries(tmp_path: Path) -> None:
    root = tmp_path / "Maildir"
    msgs = list(messages(seed=32, n=40))
    _deliver(root, msgs[:25], 0, 1_780_000_000)
    first, point = scan_all(MaildirSource(root))
    assert ids(first) == expected_ids(msgs[:25])
    again, point = scan_all(MaildirSource(root), point)
    assert again == []
    _deliver(root, msgs[25:], 25, 1_780_001_000)
    new, _ = scan_all(MaildirSource(root), point)
    assert ids(new) == expected_ids(msgs[25:])


def test_a_cancelled_maildir_scan_resumes_without_loss_or_repeat(tmp_path: Path) -> None:
    root = tmp_path / "Maildir"
    msgs = list(messages(seed=33, n=30))
    files = _deliver(root, msgs, 0, 1_780_000_000)
    for f in files[10:20]:  # ten delivered in the same second
        os.utime(f, ns=(0, 1_780_000_500 * 10**9))
    seen: list[str] = []
    point: dict[str, object] | None = None
    for stop_after in (5, 8):  # the second cancel falls among the same-second ten
        run = MaildirSource(root).scan(point)
        for n, item in enumerate(run, 1):
            assert isinstance(item, MailHeaders)
            seen.append(item.message_id)
            if n == stop_after:
                break
        point = json.loads(json.dumps(run.resume_point()))
        run.close()
    rest, _ = scan_all(MaildirSource(root), point)
    assert sorted(seen + ids(rest)) == sorted(expected_ids(msgs))
    assert len(seen + ids(rest)) == len(msgs)


def test_a_message_moved_from_new_to_cur_is_not_read_again(tmp_path: Path) -> None:
    root = tmp_path / "Maildir"
    msgs = list(messages(seed=34, n=10))
    files = _deliver(root, msgs, 0, 1_780_000_000)
    _, point = scan_all(MaildirSource(root))
    for f in files:
        if f.parent.name == "new":  # the mail client saw it and flagged it
            f.rename(root / "cur" / f"{f.name}:2,S")
    again, _ = scan_all(MaildirSource(root), point)
    assert again == []


def test_an_empty_mbox_file_is_an_mbox_with_no_mail(tmp_path: Path) -> None:
    (tmp_path / "empty.mbox").write_bytes(b"")
    source = source_for_path(tmp_path / "empty.mbox")
    assert source.key == f"mbox:{tmp_path / 'empty.mbox'}"
    assert scan_all(source)[0] == []


def test_source_for_path_tells_an_mbox_from_a_maildir(tmp_path: Path) -> None:
    write_maildir(tmp_path / "Maildir", messages(seed=35, n=2))
    write_mbox(tmp_path / "inbox", messages(seed=35, n=2))
    assert source_for_path(tmp_path / "Maildir").key == f"maildir:{tmp_path / 'Maildir'}"
    assert source_for_path(tmp_path / "inbox").describe() == f"the mbox file {tmp_path / 'inbox'}"


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: None, "no such file or folder: {p}"),
        (lambda p: p.write_text("Hello\n"), "not an mbox file: {p} (first line is not 'From ')"),
        (lambda p: p.mkdir(), "not a Maildir folder: {p} (it has no cur/ or new/ folder inside)"),
    ],
)
def test_source_for_path_says_in_one_line_what_is_wrong(
    tmp_path: Path, make: object, message: str
) -> None:
    path = tmp_path / "thing"
    make(path)  # type: ignore[operator]
    with pytest.raises(MailError) as err:
        source_for_path(path)
    assert str(err.value) == message.format(p=path)


def test_a_source_whose_file_or_folder_went_away_says_so_in_one_line(tmp_path: Path) -> None:
    write_mbox(tmp_path / "inbox.mbox", messages(seed=36, n=1))
    write_maildir(tmp_path / "Maildir", messages(seed=36, n=1))
    mbox, maildir = MboxSource(tmp_path / "inbox.mbox"), MaildirSource(tmp_path / "Maildir")
    (tmp_path / "inbox.mbox").unlink()
    for sub in ("cur", "new", "tmp"):
        for f in (tmp_path / "Maildir" / sub).iterdir():
            f.unlink()
        (tmp_path / "Maildir" / sub).rmdir()
    with pytest.raises(MailError, match=r"^cannot read the mbox file .*inbox.mbox: No such file"):
        mbox.scan()
    with pytest.raises(MailError, match=r"^not a Maildir folder \(any more\): .*Maildir has no"):
        maildir.scan()


def test_the_generated_mailbox_is_the_same_for_the_same_seed_in_any_process(
    tmp_path: Path,
) -> None:
    code = (
        "import sys, pathlib\n"
        "from cmr_desktop.testing.mailgen import messages, write_mbox\n"
        "write_mbox(pathlib.Path(sys.argv[1]), messages(seed=37, n=40), takeout=True)\n"
    )
    for name, hash_seed in (("a", "1"), ("b", "2")):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        subprocess.run([sys.executable, "-c", code, str(tmp_path / name)], env=env, check=True)
    assert (tmp_path / "a").read_bytes() == (tmp_path / "b").read_bytes()
    write_mbox(tmp_path / "c", messages(seed=38, n=40), takeout=True)
    assert (tmp_path / "c").read_bytes() != (tmp_path / "a").read_bytes()


# --- the worker process that splits large mbox files (mbox._worker_cuts) ------------------

_DIES_AFTER_TWO_FRAMES = """
import os, sys
import cmr_desktop.mail.mbox as m
m._BATCH = 7
class Out:
    n = 0
    def write(self, data):
        Out.n += 1
        if Out.n > 2:
            os._exit(3)
        sys.__stdout__.buffer.write(data)
        sys.__stdout__.buffer.flush()
    def flush(self):
        pass
class Std:
    buffer = Out()
sys.stdout = Std()
m._serve()
"""
_GARBAGE = "import sys, struct; sys.stdout.buffer.write(struct.pack('<I', 4) + b'junk')"
_WRONG_SHAPE = (
    "import marshal, sys, struct; d = marshal.dumps([(5, {}, 2)]); "
    "sys.stdout.buffer.write(struct.pack('<I', len(d)) + d + struct.pack('<I', 0))"
)


def _record_workers(monkeypatch: pytest.MonkeyPatch) -> list[subprocess.Popen[bytes]]:
    started: list[subprocess.Popen[bytes]] = []
    real = subprocess.Popen

    def popen(*args: object, **kwargs: object) -> subprocess.Popen[bytes]:
        proc = real(*args, **kwargs)  # type: ignore[call-overload]
        started.append(proc)
        return proc  # type: ignore[no-any-return]

    monkeypatch.setattr(mbox_module.subprocess, "Popen", popen)
    return started


def test_a_large_mbox_is_split_by_a_worker_that_ends_with_the_scan_even_half_way(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "inbox.mbox"
    msgs = list(messages(seed=31, n=1200, body_bytes=2000))
    write_mbox(path, msgs)
    monkeypatch.setattr(mbox_module, "SPLIT_IN_WORKER_FROM", path.stat().st_size // 2)
    started = _record_workers(monkeypatch)
    run = MboxSource(path).scan()
    reading = iter(run)
    first = [next(reading) for _ in range(3)]
    assert len(started) == 1
    assert started[0].poll() is None  # the worker is reading on
    point = run.resume_point()
    run.close()  # stopped half way: the worker is ended, not left behind
    assert started[0].returncode is not None
    assert ids(first) == expected_ids(msgs)[:3]
    rest, _ = scan_all(MboxSource(path), point)
    assert len(started) == 2  # what is left is still over the threshold
    assert ids(rest) == expected_ids(msgs)[3:]


@pytest.mark.parametrize("script", [_DIES_AFTER_TWO_FRAMES, _GARBAGE, _WRONG_SHAPE])
def test_a_worker_that_fails_or_talks_garbage_changes_nothing_the_scan_reads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, script: str
) -> None:
    path = tmp_path / "inbox.mbox"
    msgs = list(messages(seed=32, n=100))
    write_mbox(path, msgs)
    monkeypatch.setattr(mbox_module, "SPLIT_IN_WORKER_FROM", 0)
    monkeypatch.setattr(mbox_module, "_WORKER", script)
    started = _record_workers(monkeypatch)
    items, point = scan_all(MboxSource(path))
    assert len(started) == 1
    assert started[0].returncode is not None
    assert [dataclasses.replace(i, where="") for i in items] == [m.expected for m in msgs]
    assert point["offset"] == path.stat().st_size


def test_where_no_worker_can_start_the_scan_splits_in_this_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "inbox.mbox"
    msgs = list(messages(seed=33, n=50))
    write_mbox(path, msgs)
    monkeypatch.setattr(mbox_module, "SPLIT_IN_WORKER_FROM", 0)
    monkeypatch.setattr(mbox_module.sys, "frozen", True, raising=False)  # a bundled app
    started = _record_workers(monkeypatch)
    items, _ = scan_all(MboxSource(path))
    assert started == []
    assert ids(items) == expected_ids(msgs)
