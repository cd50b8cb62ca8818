"""Tiny generated audio files standing in for Twilio recordings."""

from __future__ import annotations

import io
import math
import wave

SAMPLE_RATE = 8000  # Twilio's call recordings are 8 kHz


def tone_wav(seconds: float, channels: int = 1, *, frequency: float = 440.0) -> bytes:
    """A valid 16-bit PCM WAV of a quiet tone, `seconds` long (kept short: at most 2 s of audio)."""
    frames = int(SAMPLE_RATE * min(max(seconds, 0.1), 2.0))
    samples = bytearray()
    for i in range(frames):
        value = int(2000 * math.sin(2 * math.pi * frequency * i / SAMPLE_RATE))
        samples += value.to_bytes(2, "little", signed=True) * channels
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes(bytes(samples))
    return buffer.getvalue()


def silent_mp3(seconds: float) -> bytes:
    """A valid MPEG-1 Layer III stream of silence (mono, 44.1 kHz, 128 kbit/s)."""
    # Header FF FB 90 C0: MPEG-1, layer III, no CRC, 128 kbit/s, 44.1 kHz, no padding, mono.
    # With all-zero side information every granule decodes to silence; a frame is 417 bytes
    # and lasts 1152 samples.
    frame = bytes.fromhex("FFFB90C0") + bytes(417 - 4)
    count = max(1, min(int(seconds * 44100 / 1152), 80))
    return frame * count
