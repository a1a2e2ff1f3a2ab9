"""The store's file writes and reads: atomic, write-once, shareable, torch or JSON.

Every file is written to a temporary file in its own folder, fsynced, and moved into
place with ``os.replace``, so a reader sees the old file or the new one, never a partial
one. A file that must never be overwritten (a result, a probe) is moved into place with
``link`` instead, which fails if the file exists, on NFS too. Files get the mode a plain
``open`` would give them (``0o666`` less the umask), so a group can share a store.
Nothing here knows a run folder's layout; ``prunestab.store.folder`` names the files.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import stat
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import torch


class ResultExistsError(ValueError):
    """A result is already stored where one was to be written: it is never overwritten."""


def _umask() -> int:
    """The process's umask, read without changing it where ``/proc`` tells (``os.umask``
    can only be read by setting it, which races with other threads)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _shareable(tmp_name: str) -> None:
    """Give a temporary file the mode a plain ``open`` would (``0o666`` less the umask):
    ``tempfile`` makes it 0600, which would lock a group-shared store to its writer."""
    os.chmod(tmp_name, 0o666 & ~_umask())


def _temporary_beside(path: Path) -> IO[bytes]:
    """An open temporary file in ``path``'s folder (so the final rename or link stays on
    one file system, where it is atomic), left on disk when closed."""
    return tempfile.NamedTemporaryFile(
        dir=path.parent, prefix=f".{path.name}.", suffix=".tmp", delete=False
    )


def write_atomic(path: str | os.PathLike[str], write: Callable[[IO[bytes]], None]) -> None:
    """Write ``path`` through a temporary file in its folder and ``os.replace``.

    Args:
        path: the file to write; its folder must exist. An existing file is replaced.
        write: called with the open temporary file (binary) to fill it.

    Raises:
        Whatever ``write`` or the file system raises. The temporary file is then removed
        and an existing ``path`` is left as it was.

    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "notes.txt"
    >>> write_atomic(path, lambda f: f.write(b"kept whole"))
    >>> path.read_text()
    'kept whole'
    """
    path = Path(path)
    tmp = _temporary_beside(path)
    try:
        with tmp:
            write(tmp)
            tmp.flush()
            os.fsync(tmp.fileno())
        _shareable(tmp.name)
        os.replace(tmp.name, path)
    except BaseException:
        Path(tmp.name).unlink(missing_ok=True)
        raise


def write_once(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``path`` whole, only if it does not exist yet.

    A temporary file, fsynced, then ``link``: atomic on NFS too, and it fails if ``path``
    exists, so nothing is overwritten even when two machines finish the same run.

    Args:
        path: the file to create; its folder must exist.
        data: its whole content.

    Raises:
        ResultExistsError: ``path`` exists; it is left as it was.

    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "result.json"
    >>> write_once(path, b"{}")
    >>> write_once(path, b"[]")
    Traceback (most recent call last):
    ...
    prunestab.store.files.ResultExistsError: ... a completed result is never overwritten ...
    """
    path = Path(path)
    tmp = _temporary_beside(path)
    try:
        with tmp:
            tmp.write(data)
            tmp.flush()
            os.fsync(tmp.fileno())
        _shareable(tmp.name)
        try:
            os.link(tmp.name, path)
        except FileExistsError:
            raise ResultExistsError(
                f"{path} already exists; a completed result is never overwritten "
                "(delete the file by hand to recompute)"
            ) from None
    finally:
        Path(tmp.name).unlink(missing_ok=True)


def write_json_atomic(path: str | os.PathLike[str], obj: Any) -> None:
    """Write ``obj`` as JSON (``indent=1``) to ``path`` atomically (:func:`write_atomic`).

    NaN and infinities are written as Python's ``json`` writes them (``NaN``,
    ``Infinity``): not strict JSON, but ``json.load`` reads them back, and an accuracy
    that diverged to NaN is a result worth keeping.

    Args:
        path: the file to write; its folder must exist. An existing file is replaced.
        obj: anything ``json.dumps`` accepts.

    Raises:
        TypeError: ``obj`` is not serialisable; the previous file (if any) is untouched.

    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "claims.json"
    >>> write_json_atomic(path, {"accuracy": float("nan")})
    >>> print(path.read_text())
    {
     "accuracy": NaN
    }
    """
    write_atomic(path, lambda f: f.write(json.dumps(obj, indent=1).encode()))


def read_json(path: str | os.PathLike[str]) -> Any:
    """The JSON content of ``path`` (``NaN`` and ``Infinity`` included).

    Args:
        path: an existing file.

    Returns:
        The parsed content.

    Raises:
        FileNotFoundError: there is no ``path``.
        ValueError: the file is not valid JSON; the message names it and what to do.

    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "queued.json"
    >>> write_json_atomic(path, {"job": "991_3"})
    >>> read_json(path)
    {'job': '991_3'}
    """
    path = Path(path)
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ValueError(
            f"{path} is not valid JSON ({err}). The store writes atomically, so the file "
            "was damaged outside it; inspect it, and delete it to recompute the run"
        ) from err


def write_torch_atomic(path: str | os.PathLike[str], state: dict[str, Any]) -> None:
    """Write ``state`` with ``torch.save`` to ``path`` atomically (:func:`write_atomic`).

    Args:
        path: the file to write; its folder must exist. An existing file is replaced.
        state: what :func:`read_torch` is to read back: only what
            ``torch.load(weights_only=True)`` accepts (tensors, numbers, strings, and
            dicts, lists and tuples of them).

    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "checkpoint.pt"
    >>> write_torch_atomic(path, {"epoch": 3, "weight": torch.ones(2)})
    >>> read_torch(path)["weight"].tolist()
    [1.0, 1.0]
    """
    write_atomic(path, lambda f: torch.save(state, f))


def read_torch(path: str | os.PathLike[str]) -> dict[str, Any] | None:
    """What :func:`write_torch_atomic` wrote to ``path``, on the CPU, or ``None``.

    Args:
        path: the file, which may not exist.

    Returns:
        The saved state with every tensor on the CPU, or ``None`` if there is no file.

    Raises:
        pickle.UnpicklingError: the file holds more than ``weights_only=True`` loads.

    >>> import pathlib, tempfile
    >>> read_torch(pathlib.Path(tempfile.mkdtemp()) / "model.pt") is None
    True
    """
    path = Path(path)
    if not path.exists():
        return None
    return torch.load(path, map_location="cpu", weights_only=True)


class StoreAccessError(ValueError):
    """A folder of a shared store that this user may not read or write (another user
    made it, e.g. with umask 022 or 077); the message names it, its owner and what to do."""


def _user(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


def access_error(
    folder: str | os.PathLike[str], action: str, flag: str = "--store"
) -> StoreAccessError:
    """The error for ``folder`` that this user cannot ``action`` ("read", "write").

    Args:
        folder: the folder.
        action: what was refused, in words.
        flag: the option that names another folder.

    Returns:
        A :class:`StoreAccessError` naming the folder, its owner and mode, and what to do.

    >>> import tempfile
    >>> "cannot write in" in str(access_error(tempfile.mkdtemp(), "write"))
    True
    """
    folder = Path(folder)
    try:
        st = folder.stat()
        owner = f"belongs to {_user(st.st_uid)} ({stat.filemode(st.st_mode)})"
    except OSError:
        owner = "is not reachable"
    return StoreAccessError(
        f"{folder} {owner} and this user ({_user(os.geteuid())}) cannot {action} in it; "
        "ask its owner to share it (a common group, chmod -R g+rwX on the store, umask 002 "
        f"for later runs) or name another folder with {flag}"
    )


def check_access(folder: str | os.PathLike[str], write: bool) -> None:
    """Check that this user may read (and, with ``write``, create files) in ``folder``,
    if it exists: a folder of a shared store another user made may not allow it.

    Args:
        folder: a run's folder (or any folder of a store).
        write: files will be written there.

    Raises:
        StoreAccessError: this user may not; names the folder, its owner and what to do.

    >>> import tempfile
    >>> check_access(tempfile.mkdtemp(), write=True)
    """
    folder = Path(folder)
    mode = os.R_OK | os.X_OK | (os.W_OK if write else 0)
    try:
        exists = folder.is_dir()
    except PermissionError:
        raise access_error(folder.parent, "read") from None
    if exists and not os.access(folder, mode, effective_ids=True):
        raise access_error(folder, "write" if write else "read")


def check_writable(
    folder: str | os.PathLike[str], what: str = "run store", flag: str = "--store"
) -> None:
    """Create ``folder`` if needed, then write and remove a probe file in it.

    Args:
        folder: a run store's folder (or another folder a command writes, ``what``).
        what: the folder in the message.
        flag: the option that names another folder.

    Raises:
        ValueError: the folder cannot be created or written (read-only, full, not
            ours); the message names it and the system's reason
            (:class:`StoreAccessError`, with its owner, where permissions refuse it).

    >>> import pathlib, tempfile
    >>> check_writable(pathlib.Path(tempfile.mkdtemp()) / "runs")
    """
    folder = Path(folder)
    # Named by a random token, not the pid: processes in two containers may share a pid
    # and a store, and one would remove the other's probe (a false "not writable").
    probe = folder / f".write-probe.{uuid.uuid4().hex}.tmp"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe.write_bytes(b"")
        probe.unlink()
    except PermissionError:
        with contextlib.suppress(OSError):
            probe.unlink(missing_ok=True)
        existing = next(p for p in (folder, *folder.parents) if _exists(p))
        raise access_error(existing, "write", flag) from None
    except OSError as err:
        with contextlib.suppress(OSError):
            probe.unlink(missing_ok=True)
        raise ValueError(
            f"{what} {folder} is not writable ({err.strerror or err}); allowed: "
            f"a folder this user can create files in (name another with {flag})"
        ) from None


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except OSError:
        return False
