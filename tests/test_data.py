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


def test_a_mirror_that_is_not_a_folder_is_an_error(tiny_dataset, tmp_path, monkeypatch):
    monkeypatch.setenv(data.ENV_DATA, str(tmp_path / "no-such-folder"))
    with pytest.raises(DataError, match="GPT_FROM_SCRATCH_DATA is .*no-such-folder.*not a folder"):
        data.path("tiny")


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
