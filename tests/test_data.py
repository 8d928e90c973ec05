import hashlib

import pytest

from gpt_from_scratch import data
from gpt_from_scratch.data import DataError, DataSet


@pytest.fixture
def tiny_dataset(tmp_path, monkeypatch):
    """A data set 'tiny' whose canonical URL is a local file, and an empty cache folder."""
    source = tmp_path / "source" / "tiny.txt"
    source.parent.mkdir()
    source.write_text("emma\nolivia\n")
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    tiny = DataSet("tiny", "tiny.txt", source.as_uri(), digest, "two names")
    monkeypatch.setitem(data.DATASETS, "tiny", tiny)
    monkeypatch.delenv(data.ENV_DATA, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    return tiny


@pytest.fixture
def cache(tmp_path):
    return tmp_path / "xdg" / data.CACHE_NAME


def test_download_into_the_user_cache_then_reuse(tiny_dataset, cache):
    path = data.path("tiny")
    assert path == cache / "tiny.txt"
    assert data.read_text("tiny") == "emma\nolivia\n"
    assert list(cache.iterdir()) == [path]


def test_without_xdg_the_cache_is_under_home(monkeypatch, tmp_path):
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert data.cache_dir() == tmp_path / ".cache" / "gpt-from-scratch"


def test_the_library_does_not_know_the_repository_layout():
    assert not hasattr(data, "PROJECT_ROOT")
    assert "src" not in data.cache_dir().parts[-2:]


def test_mirror_folder_comes_first(tiny_dataset, tmp_path, monkeypatch):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "tiny.txt").write_text("emma\nolivia\n")
    monkeypatch.setenv(data.ENV_DATA, str(mirror))
    assert data.path("tiny") == mirror / "tiny.txt"
    assert not (tmp_path / "xdg").exists()


def snapshot(folder):
    """Every path under ``folder``, with the bytes of each file: what a failed call must keep."""
    return {p: p.read_bytes() if p.is_file() else None for p in sorted(folder.rglob("*"))}


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            lambda tmp: tmp / "no-such-folder",
            r"no-such-folder', which is not a folder \(nothing is",
        ),
        (
            lambda tmp: tmp / "source" / "tiny.txt",
            r"tiny.txt', which is not a folder \(it is a file",
        ),
    ],
)
def test_a_mirror_that_is_not_a_folder_is_an_error(
    tiny_dataset, tmp_path, monkeypatch, make, message
):
    monkeypatch.setenv(data.ENV_DATA, str(make(tmp_path)))
    before = snapshot(tmp_path)
    with pytest.raises(DataError, match=r"^\$GPT_FROM_SCRATCH_DATA is '.*" + message):
        data.path("tiny")
    assert snapshot(tmp_path) == before


def test_a_folder_where_the_mirror_file_belongs_is_named(tiny_dataset, tmp_path, monkeypatch):
    (tmp_path / "mirror" / "tiny.txt").mkdir(parents=True)
    monkeypatch.setenv(data.ENV_DATA, str(tmp_path / "mirror"))
    with pytest.raises(DataError, match=r"mirror/tiny.txt: is a folder, not the data set's file"):
        data.path("tiny")


def test_a_mirror_without_the_file_is_named_when_the_download_fails(
    tiny_dataset, tmp_path, cache, monkeypatch
):
    (tmp_path / "mirror").mkdir()
    monkeypatch.setenv(data.ENV_DATA, str(tmp_path / "mirror"))
    missing = DataSet("tiny", "tiny.txt", (tmp_path / "absent.txt").as_uri(), "0" * 64, "gone")
    monkeypatch.setitem(data.DATASETS, "tiny", missing)
    with pytest.raises(
        DataError, match=r"put tiny.txt into \$GPT_FROM_SCRATCH_DATA \(.*mirror\), which"
    ):
        data.path("tiny")
    assert list(cache.iterdir()) == []


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("missing.txt", None, r"missing\.txt: no such file"),
        ("folder", "folder", r"folder: is a folder, not a text file"),
        ("binary.bin", b"ab\ncd\n\xffe", r"binary\.bin, line 3: not UTF-8 text \(byte 6: invalid"),
        ("latin1.txt", "zoë\n".encode("latin-1"), r"latin1\.txt, line 1: not UTF-8 text \(byte 2"),
    ],
)
def test_read_text_file_names_what_is_wrong(tmp_path, name, content, message):
    path = tmp_path / name
    if content == "folder":
        path.mkdir()
    elif content is not None:
        path.write_bytes(content)
    before = snapshot(tmp_path)
    with pytest.raises(data.DataFileError, match=message) as caught:
        data.read_text_file(path)
    assert isinstance(caught.value, DataError) and isinstance(caught.value, ValueError)
    assert snapshot(tmp_path) == before


def test_read_text_file_reads_utf8(tmp_path):
    (tmp_path / "ok.txt").write_bytes("zoë 😀\n".encode())
    assert data.read_text_file(tmp_path / "ok.txt") == "zoë 😀\n"


def test_wrong_hash_names_file_and_both_hashes(tiny_dataset, tmp_path, monkeypatch):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "tiny.txt").write_text("not the data\n")
    monkeypatch.setenv(data.ENV_DATA, str(mirror))
    actual = hashlib.sha256(b"not the data\n").hexdigest()
    with pytest.raises(DataError) as err:
        data.path("tiny")
    message = str(err.value)
    assert str(mirror / "tiny.txt") in message
    assert tiny_dataset.sha256 in message and actual in message


def test_corrupt_download_leaves_nothing_behind(tiny_dataset, cache, monkeypatch):
    wrong = DataSet("tiny", "tiny.txt", tiny_dataset.url, "0" * 64, "wrong hash")
    monkeypatch.setitem(data.DATASETS, "tiny", wrong)
    with pytest.raises(DataError, match="SHA-256 mismatch"):
        data.path("tiny")
    assert list(cache.iterdir()) == []


def test_failed_download_says_how_to_work_offline(tiny_dataset, tmp_path, cache, monkeypatch):
    missing = DataSet("tiny", "tiny.txt", (tmp_path / "absent.txt").as_uri(), "0" * 64, "gone")
    monkeypatch.setitem(data.DATASETS, "tiny", missing)
    with pytest.raises(DataError, match="GPT_FROM_SCRATCH_DATA"):
        data.path("tiny")
    assert list(cache.iterdir()) == []


def test_unknown_name_lists_the_known_ones():
    with pytest.raises(DataError, match="unknown data set 'shakespeare'.*tinyshakespeare"):
        data.path("shakespeare")


def test_every_published_data_set_has_a_sha256():
    for ds in data.DATASETS.values():
        assert len(ds.sha256) == 64 and ds.url.startswith("https://")


def test_file_or_dataset_prefers_an_existing_file(tiny_dataset, tmp_path, cache, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert data.file_or_dataset("tiny") == cache / "tiny.txt"
    (tmp_path / "tiny").write_text("a file of that name\n")
    assert data.file_or_dataset("tiny").resolve() == tmp_path / "tiny"
    with pytest.raises(DataError, match="nope.txt: no such file .*names"):
        data.file_or_dataset("nope.txt")
    (tmp_path / "folder").mkdir()
    with pytest.raises(DataError, match="folder: is a folder"):
        data.file_or_dataset("folder")


def test_a_file_that_cannot_be_read_says_why(tmp_path, monkeypatch):
    def refuse(path):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(data.Path, "read_bytes", refuse)
    with pytest.raises(data.DataFileError, match=r"locked.txt: cannot be read \(Permission denied"):
        data.read_text_file(tmp_path / "locked.txt")
