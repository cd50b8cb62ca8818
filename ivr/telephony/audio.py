"""Tiny generated audio files standing in for Twilio recordings."""

from __future__ import annotations

import io
import math
import random
import wave
from array import array

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


SPEECH_CAP_SECONDS = 90.0  # a long call's stand-in is cut here: enough to hear and seek, quick to make


def speech_like_wav(seconds: float, channels: int = 1, *, seed: str = "") -> bytes:
    """A 16-bit PCM WAV that sounds like two people talking in turns: voiced syllables (a low pitch with
    two harmonics) and pauses, `seconds` long (at most SPEECH_CAP_SECONDS); the same seed, the same audio.
    With two channels, as Twilio records an agent call, each speaker has a channel."""
    rng = random.Random(f"speech-{seed}")
    frames = int(SAMPLE_RATE * min(max(seconds, 0.5), SPEECH_CAP_SECONDS))
    tracks = [array("h", bytes(2 * frames)) for _ in range(2)]
    pitches = (rng.uniform(190, 240), rng.uniform(105, 140))  # one higher voice, one lower
    position, speaker = 0, 0
    while position < frames:
        for _ in range(rng.randint(3, 12)):  # one turn: a phrase of syllables
            length = int(SAMPLE_RATE * rng.uniform(0.09, 0.28))
            pitch = pitches[speaker] * rng.uniform(0.85, 1.2)
            _syllable(tracks[speaker], position, min(length, frames - position), pitch)
            position += length + int(SAMPLE_RATE * rng.uniform(0.02, 0.12))
            if position >= frames:
                break
        position += int(SAMPLE_RATE * rng.uniform(0.3, 0.9))  # the other one takes over
        speaker = 1 - speaker
    if channels == 1:
        mixed = array("h", (a + b for a, b in zip(tracks[0], tracks[1], strict=True)))
        samples = mixed.tobytes()
    else:
        interleaved = array("h", bytes(4 * frames))
        interleaved[0::2], interleaved[1::2] = tracks[0], tracks[1]
        samples = interleaved.tobytes()
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(2 if channels == 2 else 1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes(samples)
    return buffer.getvalue()


def _syllable(track: array[int], start: int, length: int, pitch: float) -> None:
    """A voiced sound: the pitch and two harmonics under a rising-then-falling envelope."""
    step = 2 * math.pi * pitch / SAMPLE_RATE
    for i in range(length):
        envelope = math.sin(math.pi * i / length)
        phase = step * i
        value = math.sin(phase) + 0.5 * math.sin(2 * phase) + 0.25 * math.sin(3 * phase)
        track[start + i] = int(4000 * envelope * value)
