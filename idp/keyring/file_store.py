"""The default keyring store: the ``keys/`` folder (one PEM per key + ``keyring.json``).

Changes happen under an exclusive ``flock`` and every file is replaced atomically, so two
processes rotating at once serialise and a reader never sees a half-written keyring.
"""

from __future__ import annotations

import fcntl
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from idp.keyring.records import KeyRecord, KeyringError

INDEX_NAME = "keyring.json"


def write_atomically(path: Path, data: bytes, mode: int = 0o600) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class FileKeyStore:
    def __init__(self, directory: str | Path):
        self.directory = Path(directory)

    @property
    def index_path(self) -> Path:
        return self.directory / INDEX_NAME

    def version(self) -> float | None:
        """Changes whenever the index is replaced (cheap enough to check every second)."""
        try:
            return self.index_path.stat().st_mtime_ns
        except FileNotFoundError:
            return None

    def load(self) -> list[KeyRecord]:
        try:
            index = json.loads(self.index_path.read_text())
        except FileNotFoundError:
            return []
        except (ValueError, OSError) as exc:
            raise KeyringError(f"{self.index_path} cannot be read as the keyring's index: {exc}") from None
        try:
            entries = [(self.directory / f"{entry['kid']}.pem", entry) for entry in index["keys"]]
        except (KeyError, TypeError):
            raise KeyringError(f"{self.index_path} is not a keyring index (keys, each with a kid)") from None
        records = []
        for pem_path, entry in entries:
            try:
                pem = pem_path.read_bytes()
            except FileNotFoundError:
                raise KeyringError(f"{pem_path} is missing from the keyring") from None
            except OSError as exc:
                raise KeyringError(f"{pem_path} cannot be read: {exc.strerror}") from None
            try:
                records.append(KeyRecord(private_pem=pem, source=str(pem_path), **entry))
            except TypeError as exc:
                raise KeyringError(f"{self.index_path} has an entry that is not a key's: {exc}") from None
        return records

    @contextmanager
    def _locked(self) -> Iterator[None]:
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            lock = open(self.directory / ".lock", "a+")
        except OSError as exc:
            # A keys folder mounted read-only (a secret) serves keys it holds; changing them needs a writable one.
            raise KeyringError(f"the keys folder {self.directory} is not writable ({exc.strerror}): "
                               "the keys cannot be created or changed there") from None
        with lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def transact(self, change: Callable[[list[KeyRecord]], list[KeyRecord]]) -> list[KeyRecord]:
        """Apply ``change`` to the current records under the lock and persist the result."""
        with self._locked():
            before = self.load()
            after = change(before)
            if after == before:
                return after
            kept = {r.kid for r in after}
            for record in after:
                pem_path = self.directory / f"{record.kid}.pem"
                if not pem_path.exists():
                    write_atomically(pem_path, record.private_pem)
            index = {"keys": [r.as_index_entry() for r in after]}
            write_atomically(self.index_path, json.dumps(index, indent=2).encode(), 0o644)
            for record in before:
                if record.kid not in kept:
                    (self.directory / f"{record.kid}.pem").unlink(missing_ok=True)
            return after
