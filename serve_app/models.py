"""Model locks: every file of a model pinned to its sha256, with the revision it came from.

A lock is to a model what a lockfile is to a package. A floating revision (``main``)
can change under a running fleet, and a mirror or a volume can hand an engine other
weights than the ones that were tested; both go unnoticed until the answers change.
``lock`` writes a lock from a local model directory or a Hugging Face cache snapshot
(whose directory name is the commit); ``verify`` checks a directory against a lock
before an engine loads anything and names every file that differs, with both digests.

    python -m serve_app.models lock DIR [--revision COMMIT] [--output FILE]
    python -m serve_app.models verify DIR --lock FILE

The charts take the same lock as values (``lock: {revision, files}``); files are a
list, not a map, so that a duplicate path is an error rather than silently the last.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import sys
from pathlib import Path
from typing import Annotated

import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

Sha256 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
# A Git commit as the Hugging Face Hub names revisions (branches and tags float).
Commit = Annotated[str, StringConstraints(pattern=r"^([0-9a-f]{40})?$")]
COMMIT = re.compile(r"^[0-9a-f]{40}$")
CHUNK_BYTES = 1 << 20


class LockedFile(BaseModel):
    """One file of the model, by its path relative to the model directory."""

    model_config = ConfigDict(extra="forbid")

    path: str = Field(..., min_length=1, description="Path relative to the model directory, with / separators.")
    sha256: Sha256 = Field(..., description="sha256 of the file's bytes, lowercase hex.")

    @field_validator("path")
    @classmethod
    def _inside_the_model(cls, path: str) -> str:
        # A path that leaves the directory would make verification read, and vouch for,
        # a file the engine never loads.
        segments = path.split("/")
        if path.startswith("/") or "\\" in path or {"..", ".", ""} & set(segments):
            raise ValueError(f"{path!r} must be a relative path inside the model directory, without '..', '.' or empty segments")
        return path


class ModelLock(BaseModel):
    """A model's revision and the sha256 of each of its files."""

    model_config = ConfigDict(extra="forbid")

    revision: Commit = Field("", description="Commit the files come from (40 hex characters); empty for a model with no hub revision.")
    files: list[LockedFile] = Field(..., min_length=1, description="Every file of the model with its sha256.")

    @model_validator(mode="after")
    def _paths_are_unique(self) -> "ModelLock":
        seen: set[str] = set()
        for i, f in enumerate(self.files):
            if f.path in seen:
                raise ValueError(f"files[{i}].path {f.path!r} is listed twice")
            seen.add(f.path)
        return self


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def model_files(directory: Path) -> list[str]:
    """The files an engine may load, relative to ``directory``, sorted. Hidden entries
    (``.cache/`` that ``hf download --local-dir`` leaves, ``.git``) are not part of a model."""
    found = []
    for path in directory.rglob("*"):
        relative = path.relative_to(directory)
        if any(part.startswith(".") for part in relative.parts) or not path.is_file():
            continue
        found.append(relative.as_posix())
    return sorted(found)


def snapshot_revision(directory: Path) -> str:
    """The commit of a Hugging Face cache snapshot (``.../snapshots/<commit>``), else ""."""
    resolved = directory.resolve()
    return resolved.name if resolved.parent.name == "snapshots" and COMMIT.match(resolved.name) else ""


def lock_directory(directory: Path, revision: str | None = None) -> ModelLock:
    """The lock of ``directory`` as it is now (``revision`` defaults to a snapshot's commit)."""
    files = [LockedFile(path=p, sha256=sha256_of(directory / p)) for p in model_files(directory)]
    if not files:
        raise ValueError(f"{directory} holds no model file")
    return ModelLock(revision=snapshot_revision(directory) if revision is None else revision, files=files)


def mismatches(directory: Path, lock: ModelLock) -> list[str]:
    """Every way ``directory`` differs from ``lock``, one line each; empty when it matches."""
    problems = []
    for f in lock.files:
        path = directory / f.path
        if not path.is_file():
            problems.append(f"{f.path}: missing (the lock says sha256 {f.sha256})")
            continue
        actual = sha256_of(path)
        if actual != f.sha256:
            problems.append(f"{f.path}: sha256 is {actual}, the lock says {f.sha256}")
    locked = {f.path for f in lock.files}
    problems += [f"{p}: not in the lock (an unverified file the engine may load)" for p in model_files(directory) if p not in locked]
    return problems


def load_lock(path: Path) -> ModelLock:
    return ModelLock.model_validate(yaml.safe_load(path.read_text()))


def dump_lock(lock: ModelLock) -> str:
    return yaml.safe_dump(lock.model_dump(), sort_keys=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m serve_app.models", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    lock = commands.add_parser("lock", help="write the lock of a model directory or a Hugging Face cache snapshot")
    lock.add_argument("directory", type=Path)
    lock.add_argument("--revision", help="the commit the files come from (default: a snapshot's directory name, else none)")
    lock.add_argument("--output", type=Path, help="write the lock here instead of stdout")
    verify = commands.add_parser("verify", help="check a model directory against a lock")
    verify.add_argument("directory", type=Path)
    verify.add_argument("--lock", type=Path, required=True)
    args = parser.parse_args(argv)

    if args.command == "lock":
        text = dump_lock(lock_directory(args.directory, args.revision))
        if args.output:
            args.output.write_text(text)
        else:
            sys.stdout.write(text)
        return 0
    problems = mismatches(args.directory, load_lock(args.lock))
    for line in problems:
        print(f"model lock: {args.directory}/{line}", file=sys.stderr)
    if not problems:
        print(f"model lock: {args.directory} matches {args.lock}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
