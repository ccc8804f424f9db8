"""Ogg/Opus files written append-only, page by page, so that a crash costs only what was not yet written.

The format (RFC 3533 pages, RFC 7845 Opus mapping): page 0 holds `OpusHead` (beginning of stream), page 1 holds
`OpusTags`, every later page holds whole Opus packets, unchanged, and carries the granule position (48 kHz samples)
at the end of its last packet. Pages never split a packet, so any prefix of whole pages is itself a valid file.

Crash safety: every flush is one `os.write` of whole pages to a file opened with O_APPEND, so after a SIGKILL the
file holds every page flushed before it (the kernel has them) and at most one torn page at the end, which readers
skip and `repair_tail` cuts off before a file is reopened. `sync()` (fsync) covers power loss on the writer's
slower timer. Pre-skip is 312 samples, libopus's encoder lookahead at 48 kHz (what every Discord client's encoder
adds in front; RFC 7845 §4.2, and Xiph's opusinfo warns about anything implausibly low): a decoder drops them, so
decoded sample 0 is sample 312 of the first packet — the file's offset in the manifest says where that one is.
"""

from __future__ import annotations

import logging
import os
import random
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "PRE_SKIP",
    "OggOpusWriter",
    "OggPage",
    "iter_pages",
    "ogg_crc32",
    "read_opus_packets",
    "repair_tail",
]

log = logging.getLogger(__name__)

_CAPTURE = b"OggS"
_PAGE_HEADER = struct.Struct("<4sBBqIIIB")  # capture, version, type, granule, serial, sequence, crc, segments
FLAG_CONTINUED = 0x01
FLAG_BOS = 0x02
FLAG_EOS = 0x04
MAX_SEGMENTS = 255
MAX_PAGE_SAMPLES = 48_000  # one second: Xiph's tools warn about a higher muxing delay
PRE_SKIP = 312  # libopus's encoder delay at 48 kHz (6.5 ms): decoders discard this many samples at the start
TEMPORARY_SUFFIX = ".tmp"  # a track file being created; never read, removed when a folder is reopened

_REVERSED_BITS = bytes(int(f"{b:08b}"[::-1], 2) for b in range(256))


def ogg_crc32(data: bytes) -> int:
    """Ogg's CRC-32 (polynomial 0x04C11DB7, not reflected, initial value 0, no final xor).

    zlib's crc32 is the reflected form of the same polynomial; on bit-reversed input, with its pre- and
    post-inversion cancelled, it yields the bit-reversed Ogg CRC. This runs in C instead of a Python loop per byte.
    """
    register = zlib.crc32(data.translate(_REVERSED_BITS), 0xFFFFFFFF) ^ 0xFFFFFFFF
    return int(f"{register:032b}"[::-1], 2)


def _lacing(packet_size: int) -> bytes:
    full, rest = divmod(packet_size, 255)
    return b"\xff" * full + bytes([rest])


def build_page(flags: int, granule: int, serial: int, sequence: int, packets: list[bytes]) -> bytes:
    """One page holding whole `packets` (the caller keeps them within 255 lacing values)."""
    lacing = b"".join(_lacing(len(p)) for p in packets)
    if len(lacing) > MAX_SEGMENTS:
        raise ValueError(f"{len(lacing)} lacing values do not fit on one Ogg page")
    header = _PAGE_HEADER.pack(_CAPTURE, 0, flags, granule, serial, sequence, 0, len(lacing))
    page = bytearray(header + lacing + b"".join(packets))
    struct.pack_into("<I", page, 22, ogg_crc32(bytes(page)))
    return bytes(page)


def opus_head(channels: int = 2, pre_skip: int = PRE_SKIP, input_rate: int = 48_000) -> bytes:
    return b"OpusHead" + struct.pack("<BBHIhB", 1, channels, pre_skip, input_rate, 0, 0)


def opus_tags(vendor: str, comments: dict[str, str]) -> bytes:
    encoded_vendor = vendor.encode()
    parts = [b"OpusTags", struct.pack("<I", len(encoded_vendor)), encoded_vendor, struct.pack("<I", len(comments))]
    for key, value in comments.items():
        entry = f"{key}={value}".encode()
        parts += [struct.pack("<I", len(entry)), entry]
    return b"".join(parts)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


class OggOpusWriter:
    """One logical Opus stream in one new file. Not thread-safe: one writer thread owns it.

    The file never exists without audio: it is written under a temporary name with its header pages *and* a first
    audio page (`first_packet`), fsynced, and only then renamed into place — FFmpeg rejects an Ogg/Opus file that
    holds headers alone, and a crash right after a track starts must not leave one.
    """

    def __init__(
        self,
        path: Path,
        first_packet: tuple[bytes, int],
        *,
        comments: dict[str, str] | None = None,
        channels: int = 2,
        vendor: str = "wgbot",
        serial: int | None = None,
    ) -> None:
        self.path = Path(path)
        self.serial = random.getrandbits(32) if serial is None else serial
        self.granule = 0  # samples appended so far, i.e. the end of this file's timeline
        self.flushed_granule = 0  # ... and how far of it is on disk
        self.bytes_written = 0
        self.closed = False
        self._sequence = 0
        self._packets: list[bytes] = []
        self._packet_ends: list[int] = []  # granule after each buffered packet
        self._segments = 0
        self._page_start = 0  # granule at the start of the page being filled
        self._pages: list[bytes] = []  # full pages waiting for the next flush
        if self.path.exists():  # a track file is never reopened for writing; a restart writes a new part instead
            raise FileExistsError(f"{self.path} already exists")
        temporary = self.path.with_name(self.path.name + TEMPORARY_SUFFIX)
        self._fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND, 0o640)
        headers = [
            self._page(FLAG_BOS, 0, [opus_head(channels)]),
            self._page(0, 0, [opus_tags(vendor, comments or {})]),
        ]
        self.append(*first_packet)
        self._seal_page()
        data = b"".join(headers + self._pages)
        self._pages = []
        _write_all(self._fd, data)
        os.fsync(self._fd)
        os.rename(temporary, self.path)
        self.bytes_written = len(data)
        self.flushed_granule = self.granule

    def _page(self, flags: int, granule: int, packets: list[bytes]) -> bytes:
        page = build_page(flags, granule, self.serial, self._sequence, packets)
        self._sequence += 1
        return page

    @property
    def buffered_samples(self) -> int:
        return self.granule - self.flushed_granule

    def append(self, packet: bytes, samples: int) -> None:
        """Queue one Opus packet lasting `samples` (48 kHz); it reaches the file at the next `flush`."""
        if self.closed:
            raise ValueError(f"{self.path.name} is closed")
        segments = len(packet) // 255 + 1
        # A page ends before it would hold more than 255 lacing values or more than a second of audio (a long
        # silence written at once would otherwise make a 5 s page: "high muxing delay" to opusinfo, and a coarse
        # seek index).
        if self._segments + segments > MAX_SEGMENTS or (
            self._packets and self.granule + samples - self._page_start > MAX_PAGE_SAMPLES
        ):
            self._seal_page()
        if not self._packets:
            self._page_start = self.granule
        self._packets.append(packet)
        self.granule += samples
        self._packet_ends.append(self.granule)
        self._segments += segments

    def _seal_page(self, flags: int = 0) -> None:
        if self._packets:
            self._pages.append(self._page(flags, self._packet_ends[-1], self._packets))
        self._packets, self._packet_ends, self._segments = [], [], 0

    def flush(self) -> int:
        """Write every queued packet as whole pages in one system call. Returns the bytes written."""
        self._seal_page()
        if not self._pages:
            return 0
        data = b"".join(self._pages)
        try:
            _write_all(self._fd, data)
        except OSError:
            # Disk full or similar: cut off whatever part of a page got written, so the file stays a clean run of
            # whole pages, and keep the pages to try again at the next flush.
            try:
                os.ftruncate(self._fd, self.bytes_written)
            except OSError:
                pass
            raise
        self._pages = []
        self.bytes_written += len(data)
        self.flushed_granule = self.granule
        return len(data)

    def sync(self) -> None:
        """Make the written pages durable (power loss); flush() alone already survives a process crash."""
        if not self.closed:
            os.fsync(self._fd)

    def close(self) -> None:
        """Write what is queued with the end-of-stream flag, fsync and close."""
        if self.closed:
            return
        if not self._packets:
            # The EOS flag needs a page; a 2.5 ms silence packet gives it content without moving the timeline much.
            self.append(b"\xe0\xff\xfe", 120)
        self._seal_page(FLAG_EOS)
        self.flush()
        os.fsync(self._fd)
        os.close(self._fd)
        self.closed = True

    def abandon(self) -> None:
        """Close the file descriptor without writing anything more (used when a track is deleted)."""
        if not self.closed:
            os.close(self._fd)
            self.closed = True


# -- reading back (tests, crash repair, the doctor) ----------------------------------------------------------------


@dataclass(slots=True)
class OggPage:
    offset: int
    size: int
    flags: int
    granule: int
    serial: int
    sequence: int
    segments: bytes  # lacing values
    body: bytes


def iter_pages(data: bytes) -> Iterator[OggPage]:
    """Whole, CRC-valid pages from the start of `data`; stops at the first torn or damaged page."""
    offset = 0
    while offset + _PAGE_HEADER.size <= len(data):
        capture, version, flags, granule, serial, sequence, crc, count = _PAGE_HEADER.unpack_from(data, offset)
        if capture != _CAPTURE or version != 0:
            return
        lacing_end = offset + _PAGE_HEADER.size + count
        if lacing_end > len(data):
            return
        segments = data[offset + _PAGE_HEADER.size : lacing_end]
        end = lacing_end + sum(segments)
        if end > len(data):
            return
        page = bytearray(data[offset:end])
        page[22:26] = b"\0\0\0\0"
        if ogg_crc32(bytes(page)) != crc:
            return
        yield OggPage(offset, end - offset, flags, granule, serial, sequence, segments, data[lacing_end:end])
        offset = end


def read_opus_packets(path: Path) -> tuple[list[bytes], dict[str, str]]:
    """The audio packets of a file written by OggOpusWriter (headers skipped), and its OpusTags comments."""
    packets: list[bytes] = []
    partial = b""
    for page in iter_pages(Path(path).read_bytes()):
        position = 0
        for value in page.segments:
            partial += page.body[position : position + value]
            position += value
            if value < 255:
                packets.append(partial)
                partial = b""
    comments: dict[str, str] = {}
    if len(packets) >= 2 and packets[0].startswith(b"OpusHead") and packets[1].startswith(b"OpusTags"):
        tags = packets[1]
        vendor_length = struct.unpack_from("<I", tags, 8)[0]
        position = 12 + vendor_length
        (count,) = struct.unpack_from("<I", tags, position)
        position += 4
        for _ in range(count):
            (length,) = struct.unpack_from("<I", tags, position)
            key, _, text = tags[position + 4 : position + 4 + length].decode().partition("=")
            comments[key] = text
            position += 4 + length
        packets = packets[2:]
    return packets, comments


def repair_tail(path: Path) -> int:
    """Cut a torn or damaged last page (a crash mid-write) off `path`. Returns the number of bytes removed."""
    path = Path(path)
    data = path.read_bytes()
    valid = 0
    for page in iter_pages(data):
        valid = page.offset + page.size
    removed = len(data) - valid
    if removed:
        with open(path, "r+b") as f:
            f.truncate(valid)
            f.flush()
            os.fsync(f.fileno())
        log.warning("%s: removed %d bytes of a torn page left by a crash", path.name, removed)
    return removed
