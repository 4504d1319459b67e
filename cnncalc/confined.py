"""Files inside one directory tree, never reached through a symbolic link.

Why: a run directory (``cnntrain``) is data. It is copied, unpacked and shared, so any entry in it
may be a link, a FIFO or a device that someone else put there: a ``.lock`` linked to a file of
yours (a writer truncates it), a ``plot.png`` linked to ``/etc/passwd`` (a report embeds it), a
``checkpoint`` linked to a folder elsewhere (pruning deletes in it), ``a -> .`` (a walk never
ends). Opening ``ROOT/a/b`` by name follows every one of them. Here a path below the root is
walked one name at a time from the descriptor of the directory above it (``openat`` with
``O_NOFOLLOW | O_DIRECTORY``), so a link anywhere below the root, planted beforehand or swapped
in while we walk, stops the walk with :class:`Refused` naming it. A file is opened only when it is
a regular file (checked before opening, so a FIFO is never opened, and again on the descriptor),
read only up to a stated size, written in place only when it has no other hard link, and removed
only through its directory's descriptor (``shutil.rmtree`` with ``dir_fd`` never follows a link).

The root itself is opened as named: a path the user typed (``runs/latest`` linked to a run) is
theirs. Where the platform has no ``openat`` (Windows) the same checks are made with ``lstat``
before each step.

Standard library only, like :mod:`cnncalc.atomic`, its other user.
"""

from __future__ import annotations

import errno
import os
import stat
from contextlib import contextmanager

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)  # a FIFO swapped in after the check must not block the open
_BINARY = getattr(os, "O_BINARY", 0)
# Descriptor-relative opening (openat and friends): every step pinned to the directory above it.
AT_FDS = bool(_NOFOLLOW and _DIRECTORY) and {os.open, os.stat, os.mkdir, os.unlink, os.rename} <= os.supports_dir_fd and os.scandir in os.supports_fd

_KINDS = ((stat.S_ISREG, "regular file"), (stat.S_ISDIR, "directory"), (stat.S_ISLNK, "symbolic link"), (stat.S_ISFIFO, "FIFO"),
          (stat.S_ISSOCK, "socket"), (stat.S_ISCHR, "character device"), (stat.S_ISBLK, "block device"))  # fmt: skip


class Refused(OSError):
    """An entry that is not what it must be (a link, a FIFO where a file belongs, a file over its
    size limit, a ``..``): the message is one line naming the path and why."""


def kind_of(mode: int) -> str:
    """``"regular file"``, ``"directory"``, ``"symbolic link"``, ``"FIFO"``, ... of an ``st_mode``."""
    return next((name for test, name in _KINDS if test(mode)), "special file")


def _names(rel) -> list[str]:
    """The components of a relative path; ``..`` and absolute paths are refused."""
    rel = os.fspath(rel)
    if os.path.isabs(rel) or (os.path.splitdrive(rel)[0]):
        raise Refused(f"'{rel}' is an absolute path, expected one inside the directory")
    names = [n for n in rel.replace(os.sep, "/").split("/") if n not in ("", ".")]
    if ".." in names:
        raise Refused(f"'{rel}' leaves its directory ('..')")
    return names


class Folder:
    """An open directory of a tree: its entries are reached by name, never through a link.

    Made by :func:`open_folder`; closes its descriptor on ``close()`` or at the end of a ``with``.
    ``path`` is the directory's path as the caller named it (for messages and for libraries that
    write by path), ``root`` the tree's root.
    """

    def __init__(self, handle, path: str, root: str):
        self._handle = handle  # a descriptor (AT_FDS) or the checked path
        self.path, self.root = path, root

    # -- plumbing --------------------------------------------------------------------------------
    def _at(self, name: str) -> tuple[str, int | None]:
        """``(name, dir_fd)`` for the ``os`` functions' ``dir_fd`` form (a path without it)."""
        if not name or name in (".", "..") or "/" in name or os.sep in name:
            raise Refused(f"'{name}' is not a name inside '{self.path}'")
        return (name, self._handle) if AT_FDS else (os.path.join(self._handle, name), None)

    def shown(self, name: str) -> str:
        return os.path.join(self.path, name)

    def close(self) -> None:
        if AT_FDS and self._handle is not None:
            os.close(self._handle)
        self._handle = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _refuse(self, name: str, what: str, expected: str) -> Refused:
        if what == "symbolic link":
            return Refused(f"'{self.shown(name)}' is a symbolic link: links inside '{self.root}' are never followed")
        return Refused(f"'{self.shown(name)}' is a {what}, not a {expected}")

    # -- looking -------------------------------------------------------------------------------
    def lstat(self, name: str) -> os.stat_result | None:
        """The entry's own ``stat`` (a link's, not its target's); None when there is none."""
        target, fd = self._at(name)
        try:
            return os.stat(target, dir_fd=fd, follow_symlinks=False)
        except FileNotFoundError:
            return None

    def kind(self, name: str) -> str | None:
        """What the entry is (:func:`kind_of`), None when there is none."""
        st = self.lstat(name)
        return None if st is None else kind_of(st.st_mode)

    def entries(self) -> list[tuple[str, str]]:
        """``(name, kind)`` of every entry, sorted by name; a link is listed as a link, never entered."""
        found = []
        with os.scandir(self._handle) as it:
            for entry in it:
                try:
                    found.append((entry.name, kind_of(entry.stat(follow_symlinks=False).st_mode)))
                except FileNotFoundError:  # removed meanwhile
                    continue
        return sorted(found)

    # -- opening -------------------------------------------------------------------------------
    def folder(self, name: str, *, create: bool = False) -> Folder:
        """The sub-directory ``name`` (made when missing and ``create``); a link or a file is refused."""
        target, fd = self._at(name)
        st = self.lstat(name)
        if st is None:
            if not create:
                raise FileNotFoundError(errno.ENOENT, "No such directory", self.shown(name))
            try:
                os.mkdir(target, 0o777, dir_fd=fd)
            except FileExistsError:  # made meanwhile: checked below like any other
                pass
            st = self.lstat(name)
        if st is None or not stat.S_ISDIR(st.st_mode):
            raise self._refuse(name, "missing entry" if st is None else kind_of(st.st_mode), "directory")
        if not AT_FDS:
            return Folder(target, self.shown(name), self.root)
        try:
            handle = os.open(target, os.O_RDONLY | _DIRECTORY | _NOFOLLOW | _CLOEXEC, dir_fd=fd)
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.ENOTDIR, errno.EMLINK):  # swapped for a link or a file after the check
                raise self._refuse(name, self.kind(name) or "missing entry", "directory") from None
            raise
        return Folder(handle, self.shown(name), self.root)

    def open(self, name: str, flags: int = os.O_RDONLY, mode: int = 0o666) -> int:
        """A descriptor of the regular file ``name`` (``O_CREAT`` in ``flags`` makes it).

        Anything else is refused before it is opened (a FIFO would block, a device never ends) and
        again on the descriptor; a file opened for writing must have no other hard link, so a
        write in place never reaches a file elsewhere.
        """
        target, fd = self._at(name)
        st = self.lstat(name)
        if st is None and not flags & os.O_CREAT:
            raise FileNotFoundError(errno.ENOENT, "No such file", self.shown(name))
        if st is not None and not stat.S_ISREG(st.st_mode):
            raise self._refuse(name, kind_of(st.st_mode), "regular file")
        try:
            handle = os.open(target, flags | _NOFOLLOW | _NONBLOCK | _CLOEXEC | _BINARY, mode, dir_fd=fd)
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.EISDIR, errno.ENXIO, errno.EMLINK):
                raise self._refuse(name, self.kind(name) or "missing entry", "regular file") from None
            if exc.filename is None:
                exc.filename = self.shown(name)
            raise
        st = os.fstat(handle)
        problem = None
        if not stat.S_ISREG(st.st_mode):
            problem = self._refuse(name, kind_of(st.st_mode), "regular file")
        elif flags & (os.O_WRONLY | os.O_RDWR) and st.st_nlink > 1:
            problem = Refused(f"'{self.shown(name)}' has {st.st_nlink} hard links: it is written in place only when it has one")
        if problem is not None:
            os.close(handle)
            raise problem
        return handle

    def read(self, name: str, limit: int) -> bytes:
        """The bytes of the regular file ``name``, refused when it holds more than ``limit``."""
        handle = self.open(name)
        try:
            size = os.fstat(handle).st_size
            if size > limit:
                raise Refused(f"'{self.shown(name)}' holds {size:,} bytes, more than the {limit:,} it may")
            chunks, left = [], limit + 1
            while left > 0:
                chunk = os.read(handle, min(left, 1 << 20))
                if not chunk:
                    break
                chunks.append(chunk)
                left -= len(chunk)
            data = b"".join(chunks)
            if len(data) > limit:  # it grew while we read
                raise Refused(f"'{self.shown(name)}' holds more than the {limit:,} bytes it may")
            return data
        finally:
            os.close(handle)

    # -- changing ------------------------------------------------------------------------------
    def make_temporary(self, prefix: str, suffix: str = "", mode: int = 0o600) -> tuple[int, str]:
        """A new empty regular file ``PREFIX<random>SUFFIX`` made here (``O_EXCL``: never an existing
        entry, never through a link): its descriptor and name."""
        for _ in range(100):
            name = f"{prefix}{os.urandom(6).hex()}{suffix}"
            target, fd = self._at(name)
            try:
                return os.open(target, os.O_RDWR | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC | _BINARY, mode, dir_fd=fd), name
            except FileExistsError:
                continue
        raise FileExistsError(errno.EEXIST, "No usable temporary name", self.path)

    def replace(self, source: str, target: str) -> None:
        """Rename the entry ``source`` over ``target`` atomically (a link at ``target`` is replaced, not followed)."""
        src, fd = self._at(source)
        dst, _ = self._at(target)
        os.replace(src, dst, src_dir_fd=fd, dst_dir_fd=fd)

    def link_from(self, other: Folder, name: str, as_name: str) -> None:
        """A hard link here (``as_name``) to the regular file ``name`` of ``other``; a copy where
        the file system has no hard links. A link or special file is refused, never followed."""
        st = other.lstat(name)
        if st is None or not stat.S_ISREG(st.st_mode):
            raise other._refuse(name, "missing entry" if st is None else kind_of(st.st_mode), "regular file")
        src, src_fd = other._at(name)
        dst, dst_fd = self._at(as_name)
        try:
            os.link(src, dst, src_dir_fd=src_fd, dst_dir_fd=dst_fd, **({"follow_symlinks": False} if AT_FDS else {}))  # linkat without AT_SYMLINK_FOLLOW
            return
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.EXDEV, errno.EMLINK, errno.ENOTSUP, errno.EOPNOTSUPP):
                raise
        source = other.open(name)
        try:
            out = self.open(as_name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            try:
                while chunk := os.read(source, 1 << 20):
                    os.write(out, chunk)
            finally:
                os.close(out)
        finally:
            os.close(source)

    def remove(self, name: str) -> bool:
        """Remove the entry ``name``: a directory with all below it, anything else (a link included:
        the link, never its target) by unlinking. False when there was none."""
        st = self.lstat(name)
        if st is None:
            return False
        target, fd = self._at(name)
        if stat.S_ISDIR(st.st_mode):
            import shutil

            shutil.rmtree(target, dir_fd=fd)  # the descriptor-based walk: links inside are unlinked, not followed
        else:
            os.unlink(target, dir_fd=fd)
        return True


def _open_root(root: str, create: bool):
    if create:
        os.makedirs(root, exist_ok=True)
    if not AT_FDS:
        if not os.path.isdir(root):
            raise NotADirectoryError(errno.ENOTDIR, "Not a directory", root)
        return root
    return os.open(root, os.O_RDONLY | _DIRECTORY | _CLOEXEC)


def open_folder(root, rel=".", *, create: bool = False) -> Folder:
    """The directory ``root/rel`` as a :class:`Folder`: ``root`` opened as named, every name of
    ``rel`` below it walked without following a link (``create``: made where missing)."""
    root = os.fspath(root)
    names = _names(rel)
    folder = Folder(_open_root(root, create), root, root)
    try:
        for name in names:
            inner = folder.folder(name, create=create)
            folder.close()
            folder = inner
    except BaseException:
        folder.close()
        raise
    return folder


@contextmanager
def folder_of(path, *, create: bool = False):
    """The :class:`Folder` holding ``path`` (its directory, as named) and the file's name in it."""
    path = os.fspath(path)
    with open_folder(os.path.dirname(path) or ".", create=create) as folder:
        yield folder, os.path.basename(path)


def open_file(path, flags: int = os.O_RDONLY, mode: int = 0o666) -> int:
    """:meth:`Folder.open` of ``path``'s last name in its directory (as named): a link, FIFO or
    device there is refused instead of opened."""
    with folder_of(path, create=bool(flags & os.O_CREAT)) as (folder, name):
        return folder.open(name, flags, mode)
