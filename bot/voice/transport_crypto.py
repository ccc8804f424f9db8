"""Transport encryption of Discord voice packets: the outer layer, between us and Discord's voice server.

Both modes Discord offers today are "rtpsize" AEAD modes with one packet layout:

    [clear RTP header: fixed 12 bytes, CSRCs, extension preamble]   <- additional authenticated data
    [ciphertext: extension body, media payload, RTP padding][16-byte tag]
    [4-byte big-endian nonce counter]                               <- zero-padded to the cipher's nonce size

`aead_xchacha20_poly1305_rtpsize` (every client must support it; PyNaCl) and `aead_aes256_gcm_rtpsize` (used when
negotiated; `cryptography`). What comes out is the media payload only — still DAVE-encrypted in an E2EE call.
The encrypting half exists for the simulated senders in `bot.voice.testing` and the benchmark.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

import nacl.bindings as sodium
import nacl.exceptions
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from bot.voice.rtp import RtpHeader

__all__ = ["SUPPORTED_MODES", "TransportCryptoError", "TransportDecryptor", "TransportEncryptor"]

XCHACHA = "aead_xchacha20_poly1305_rtpsize"
AES_GCM = "aead_aes256_gcm_rtpsize"
SUPPORTED_MODES = (XCHACHA, AES_GCM)
TAG_SIZE = 16
NONCE_SUFFIX_SIZE = 4
try:  # PyNaCl's compiled libsodium binding (what nacl.bindings calls); the public wrapper is the fallback
    from nacl._sodium import ffi as _sodium_ffi
    from nacl._sodium import lib as _sodium_lib
except ImportError:  # pragma: no cover - a PyNaCl without its cffi module layout
    _sodium_ffi = _sodium_lib = None

_AUTHENTICATION_ERRORS = (nacl.exceptions.CryptoError, InvalidTag)
_NONCE_PAD = {XCHACHA: bytes(24 - NONCE_SUFFIX_SIZE), AES_GCM: bytes(12 - NONCE_SUFFIX_SIZE)}


class TransportCryptoError(ValueError):
    """A packet could not be opened (wrong key, truncated, tampered with) or the mode is not one we speak."""


def _key_bytes(secret_key: bytes | Sequence[int]) -> bytes:
    key = bytes(secret_key)
    if len(key) != 32:
        raise TransportCryptoError(f"the voice secret key has {len(key)} bytes, expected 32")
    return key


def _check_mode(mode: str) -> None:
    if mode not in SUPPORTED_MODES:
        raise TransportCryptoError(
            f"voice encryption mode {mode!r} is not supported for receiving (supported: {', '.join(SUPPORTED_MODES)})"
        )


class TransportDecryptor:
    """Opens packets for one (mode, secret key) pair; make a new one when the voice session's key changes."""

    __slots__ = ("mode", "_key", "_open")

    def __init__(self, mode: str, secret_key: bytes | Sequence[int]) -> None:
        _check_mode(mode)
        self.mode = mode
        self._key = _key_bytes(secret_key)
        if mode == XCHACHA:
            self._open = self._open_xchacha
        else:
            aes = AESGCM(self._key)
            self._open = lambda ciphertext, aad, nonce: aes.decrypt(nonce, ciphertext, aad)

    def _open_xchacha(self, ciphertext: bytes, aad: bytes, nonce: bytes) -> bytes:
        if _sodium_lib is None:
            return sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(ciphertext, aad, nonce, self._key)
        # libsodium through PyNaCl's own cffi handle: the public wrapper formats six argument-check messages per call,
        # which costs more than the decryption itself at 50 packets per second per speaker. The arguments are ours.
        size = len(ciphertext) - TAG_SIZE
        if size < 0:
            raise nacl.exceptions.CryptoError("ciphertext shorter than its tag")
        message = _sodium_ffi.new("unsigned char[]", size or 1)
        result = _sodium_lib.crypto_aead_xchacha20poly1305_ietf_decrypt(
            message, _sodium_ffi.NULL, _sodium_ffi.NULL, ciphertext, len(ciphertext), aad, len(aad), nonce, self._key
        )
        if result != 0:
            raise nacl.exceptions.CryptoError("Decryption failed.")
        return _sodium_ffi.buffer(message, size)[:]

    def decrypt(self, packet: bytes, header: RtpHeader) -> bytes:
        """The media payload of `packet`: decrypted, without the extension body and without RTP padding."""
        if type(packet) is not bytes:  # PyNaCl takes bytes only (discord.py's own packets are bytearrays)
            packet = bytes(packet)
        end = len(packet) - NONCE_SUFFIX_SIZE
        if end - header.aad_size < TAG_SIZE:
            raise TransportCryptoError(f"packet of {len(packet)} bytes is too short to hold a tag and a nonce")
        nonce = packet[end:] + _NONCE_PAD[self.mode]
        try:
            plain = self._open(packet[header.aad_size : end], packet[: header.aad_size], nonce)
        except _AUTHENTICATION_ERRORS as exc:
            raise TransportCryptoError("packet failed authentication (wrong key or damaged packet)") from exc
        stop = len(plain)
        if header.padding and stop:
            stop -= plain[-1]
        start = header.extension_size
        if stop < start:
            raise TransportCryptoError("packet's extension and padding are longer than the packet")
        return plain[start:stop]


class TransportEncryptor:
    """The sending half (what a Discord client or the voice server does), for simulated senders."""

    __slots__ = ("mode", "_key", "_nonce", "_aes")

    def __init__(self, mode: str, secret_key: bytes | Sequence[int]) -> None:
        _check_mode(mode)
        self.mode = mode
        self._key = _key_bytes(secret_key)
        self._nonce = 0
        self._aes = None
        if mode == AES_GCM:
            self._aes = AESGCM(self._key)

    def encrypt(self, clear_header: bytes, extension_body: bytes, payload: bytes, padding: int = 0) -> bytes:
        """`clear_header` is everything up to and including the extension preamble; returns the whole packet."""
        suffix = struct.pack(">I", self._nonce)
        self._nonce = (self._nonce + 1) & 0xFFFFFFFF
        plain = extension_body + payload
        if padding:
            plain += bytes(padding - 1) + bytes([padding])
        nonce = suffix + _NONCE_PAD[self.mode]
        if self._aes is None:
            sealed = sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(plain, clear_header, nonce, self._key)
        else:
            sealed = self._aes.encrypt(nonce, plain, clear_header)
        return clear_header + sealed + suffix
