import hashlib
import os

from biorepro.store import hashing
from biorepro.store.hashing import StatCache, file_digest


def test_file_digest_is_sha256_of_bytes(tmp_path):
    f = tmp_path / "v.mov"
    f.write_bytes(b"abc" * 1000)
    assert file_digest(f) == hashlib.sha256(b"abc" * 1000).hexdigest()


def test_stat_cache_reuses_digest_until_stat_changes(tmp_path, monkeypatch):
    reads = []  # files actually read (cache misses)

    def counting_digest(path):
        reads.append(path)
        return file_digest(path)

    monkeypatch.setattr(hashing, "file_digest", counting_digest)
    f = tmp_path / "v.mov"
    f.write_bytes(b"one")
    db = tmp_path / "cache.sqlite"
    with StatCache(db) as cache:
        d1 = cache.digest(f)
        assert len(reads) == 1
    with StatCache(db) as cache:  # persistent across processes / instances
        assert cache.digest(f) == d1
        assert len(reads) == 1
    st = f.stat()
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # touch: re-read, same digest
    with StatCache(db) as cache:
        assert cache.digest(f) == d1
        assert len(reads) == 2
    f.write_bytes(b"two")
    with StatCache(db) as cache:
        assert cache.digest(f) == hashlib.sha256(b"two").hexdigest() != d1


def test_stat_cache_detects_same_size_same_mtime_replacement_by_inode(tmp_path):
    f = tmp_path / "v.mov"
    f.write_bytes(b"aaa")
    db = tmp_path / "cache.sqlite"
    with StatCache(db) as cache:
        old = cache.digest(f)
    st = f.stat()
    g = tmp_path / "new.mov"
    g.write_bytes(b"bbb")
    os.utime(g, ns=(st.st_atime_ns, st.st_mtime_ns))
    os.replace(g, f)  # new inode, same size and mtime
    with StatCache(db) as cache:
        assert cache.digest(f) != old


def test_digests_many(tmp_path):
    paths = []
    for i in range(5):
        p = tmp_path / f"{i}.bin"
        p.write_bytes(bytes([i]) * 10)
        paths.append(p)
    with StatCache(tmp_path / "c.sqlite") as cache:
        out = cache.digests(paths)
    assert len(set(out.values())) == 5
