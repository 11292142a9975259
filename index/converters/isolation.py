"""Run converters that parse complex formats in a child process, bounded in time and memory.

A PDF with a million pages, a zip bomb named .docx or HTML nested 100,000 deep must cost one
skipped file, never the indexer: the child has an address-space limit (convert_memory_mb), the
parent waits at most convert_seconds per file and kills the child when that runs out, and a
child that dies is replaced for the next file. The child is a fresh interpreter
(`python -m index.converters.isolation`), not a fork of one holding the model, and only bytes and
JSON cross between the two (no pickle of anything a document produced).
"""

from __future__ import annotations

import json
import os
import select
import struct
import subprocess
import sys
import time
from dataclasses import asdict

from index.converters.base import Converted, Converter, Field, Limits, OutlineEntry
from index.errors import SkippedFile, in_one_line

_MB = 1024 * 1024
_START_SECONDS = 60.0  # a fresh child's imports, not counted against a file's time
_FRAME = struct.Struct(">Q")
_READY = b"ready"


class _ChildGone(Exception):
    pass


class ConversionWorker:
    """One child process, used for one file at a time, started when first needed."""

    def __init__(self, limits: Limits):
        self.limits = limits
        self._child: subprocess.Popen | None = None

    def __enter__(self) -> "ConversionWorker":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def convert(self, converter: Converter, data: bytes, relpath: str) -> Converted:
        if self._child is None or self._child.poll() is not None:
            self._start()
        header = {"converter": converter.name, "relpath": relpath, "limits": asdict(self.limits)}
        try:
            self._send(json.dumps(header).encode())
            self._send(data)
            reply = json.loads(self._receive(self.limits.seconds))
        except TimeoutError:
            self._stop()
            raise SkippedFile(f"converting took over {self.limits.seconds:g} s (convert_seconds)") from None
        except (_ChildGone, OSError, ValueError):
            code = self._stop()
            why = "it was killed, likely out of memory" if code is not None and code < 0 else f"exit code {code}"
            raise SkippedFile(f"the {converter.shown} converter crashed on this file ({why})") from None
        if "skip" in reply:
            raise SkippedFile(reply["skip"])
        return _converted(reply["converted"])

    def close(self) -> None:
        if self._child is None:
            return
        try:
            self._send(b"")  # asks the child to end
            self._child.wait(timeout=2)
        except (OSError, subprocess.TimeoutExpired):
            pass
        self._stop()

    def _start(self) -> None:
        # The child imports the same code (and any converter plugins) from the same places.
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
        self._child = subprocess.Popen(
            [sys.executable, "-m", "index.converters.isolation", str(self.limits.memory_mb)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env,
        )
        try:
            if self._receive(_START_SECONDS) != _READY:
                raise _ChildGone
        except (TimeoutError, _ChildGone, OSError):
            self._stop()
            raise SkippedFile("the conversion process did not start") from None

    def _stop(self) -> int | None:
        child, self._child = self._child, None
        if child is None:
            return None
        if child.poll() is None:
            child.kill()
        code = child.wait()
        for pipe in (child.stdin, child.stdout):
            try:
                pipe.close()
            except OSError:
                pass
        return code

    def _send(self, payload: bytes) -> None:
        self._child.stdin.write(_FRAME.pack(len(payload)) + payload)
        self._child.stdin.flush()

    def _receive(self, seconds: float) -> bytes:
        deadline = time.monotonic() + seconds
        size = _FRAME.unpack(self._read_exactly(_FRAME.size, deadline))[0]
        return self._read_exactly(size, deadline)

    def _read_exactly(self, size: int, deadline: float) -> bytes:
        fd = self._child.stdout.fileno()
        chunks, left = [], size
        while left:
            wait = deadline - time.monotonic()
            if wait <= 0 or not select.select([fd], [], [], wait)[0]:
                raise TimeoutError
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                raise _ChildGone
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)


def _converted(data: dict) -> Converted:
    return Converted(
        text=data["text"], markup=data["markup"], title=data["title"], author=data["author"],
        fields=tuple(Field(**f) for f in data["fields"]), pages=tuple(data["pages"]),
        outline=tuple(OutlineEntry(**e) for e in data["outline"]),
        anchors=tuple((str(words), str(anchor)) for words, anchor in data["anchors"]), first_line=int(data["first_line"]),
    )


def _serve(memory_mb: int) -> None:
    """The child: convert each file sent, reply with JSON, until an empty message."""
    import resource

    limit = memory_mb * _MB
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    # The protocol gets stdout's pipe to itself; whatever a library prints goes to stderr.
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    source = sys.stdin.buffer

    def send(payload: bytes) -> None:
        out.write(_FRAME.pack(len(payload)) + payload)
        out.flush()

    def receive() -> bytes | None:
        head = source.read(_FRAME.size)
        if len(head) < _FRAME.size:
            return None
        return source.read(_FRAME.unpack(head)[0])

    from index.converters import registry  # after the limit: the imports count against it too

    send(_READY)
    while True:
        header = receive()
        if not header:
            return
        request = json.loads(header)
        data = receive() or b""
        converter = registry().by_name(request["converter"])
        limits = Limits(**request["limits"])
        try:
            if converter is None:
                raise SkippedFile(f"no converter named {request['converter']!r} in the conversion process")
            reply = {"converted": asdict(converter.convert(data, request["relpath"], limits))}
        except SkippedFile as why:
            reply = {"skip": str(why)}
        except MemoryError:
            reply = {"skip": f"converting needed over {memory_mb:,} MB (convert_memory_mb)"}
        except RecursionError:
            reply = {"skip": f"nested too deeply for the {converter.shown} converter"}
        except Exception as err:  # a converter's own bug: one file skipped, the child stays usable
            reply = {"skip": f"the {converter.shown} converter failed: {in_one_line(err)}"}
        del data
        send(json.dumps(reply).encode())


if __name__ == "__main__":
    _serve(int(sys.argv[1]))
