"""RTP packet headers as Discord's voice server sends them (RFC 3550, with RFC 5285 one-byte header extensions).

Only the header is read here; the payload stays encrypted until `transport_crypto` opens it. In the `*_rtpsize`
encryption modes the part of the header that is sent in the clear — the 12 fixed bytes, the CSRC list and the
4-byte extension preamble (profile + length) — is also the AEAD's additional data, while the extension *body*
travels encrypted in front of the payload. `RtpHeader.aad_size` and `RtpHeader.extension_size` say where those
parts are.
"""

from __future__ import annotations

import struct
from typing import NamedTuple

__all__ = ["RTP_VERSION", "RtpError", "RtpHeader", "is_rtcp", "is_rtp", "parse_rtp_header", "peek_ssrc"]

RTP_VERSION = 2
FIXED_HEADER_SIZE = 12
_FIXED = struct.Struct(">BBHII")
_EXTENSION_PREAMBLE = struct.Struct(">HH")


class RtpError(ValueError):
    """The bytes are not a well-formed RTP packet."""


class RtpHeader(NamedTuple):  # a tuple: built for every packet, so it must be cheap
    marker: bool
    payload_type: int
    sequence: int  # 16 bits, wraps
    timestamp: int  # 32 bits, wraps; 48 kHz units for Opus
    ssrc: int
    padding: bool  # the decrypted payload ends with padding whose last byte is its length
    csrcs: tuple[int, ...]
    extension_profile: int | None  # 0xBEDE for one-byte extensions; None when the X bit is clear
    extension_size: int  # bytes of extension body (encrypted in the rtpsize modes), 4 * the length field
    aad_size: int  # bytes sent in the clear at the start of the packet (fixed header, CSRCs, extension preamble)


def is_rtp(packet: bytes) -> bool:
    """True for anything shaped like RTP or RTCP (version 2); False for Discord's IP-discovery replies and noise."""
    return len(packet) >= FIXED_HEADER_SIZE and packet[0] >> 6 == RTP_VERSION


def is_rtcp(packet: bytes) -> bool:
    """RTCP multiplexed on the RTP port (RFC 5761 §4): its packet types 192-223 fall where RTP's marker+type would."""
    return 64 <= (packet[1] & 0x7F) < 96


def peek_ssrc(packet: bytes) -> int:
    """The SSRC of an RTP packet, without parsing the rest (the receive path decides from it whether to go on)."""
    return int.from_bytes(packet[8:12], "big")


def parse_rtp_header(packet: bytes) -> RtpHeader:
    if len(packet) < FIXED_HEADER_SIZE:
        raise RtpError(f"packet of {len(packet)} bytes is shorter than an RTP header")
    first, second, sequence, timestamp, ssrc = _FIXED.unpack_from(packet, 0)
    if first >> 6 != RTP_VERSION:
        raise RtpError(f"RTP version {first >> 6}, expected {RTP_VERSION}")
    csrc_count = first & 0x0F
    offset = FIXED_HEADER_SIZE + 4 * csrc_count
    if len(packet) < offset:
        raise RtpError(f"packet of {len(packet)} bytes is too short for its {csrc_count} CSRCs")
    csrcs = struct.unpack_from(f">{csrc_count}I", packet, FIXED_HEADER_SIZE) if csrc_count else ()
    profile = None
    extension_size = 0
    if first & 0x10:
        if len(packet) < offset + 4:
            raise RtpError("packet ends inside its RTP header-extension preamble")
        profile, words = _EXTENSION_PREAMBLE.unpack_from(packet, offset)
        extension_size = 4 * words
        offset += 4
    return RtpHeader(
        bool(second & 0x80),
        second & 0x7F,
        sequence,
        timestamp,
        ssrc,
        bool(first & 0x20),
        csrcs,
        profile,
        extension_size,
        offset,
    )
