"""Audio files checked by their content, never by their name.

:func:`inspect_audio` recognises WAV, MP3, OGG and FLAC from their first bytes, parses the
file (the stdlib ``wave`` module for WAV, ``mutagen`` for the others) and returns the media
type and duration. A file that is not one of these, or that does not parse, raises
``ValueError`` with a message fit for an import report.
"""

from __future__ import annotations

import io
import wave
from dataclasses import dataclass

import mutagen
from mutagen.flac import FLAC
from mutagen.mp3 import MP3
from mutagen.oggopus import OggOpus
from mutagen.oggvorbis import OggVorbis


@dataclass(frozen=True)
class AudioInfo:
    media_type: str
    extension: str
    duration: float


def sniff(data: bytes) -> str | None:
    """The audio format named by the file's first bytes, or None."""
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return "wav"
    if data[:4] == b"fLaC":
        return "flac"
    if data[:4] == b"OggS":
        return "ogg"
    if data[:3] == b"ID3" or (len(data) >= 2 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0):
        return "mp3"
    return None


def _wav_duration(data: bytes) -> float:
    try:
        with wave.open(io.BytesIO(data)) as wav:
            frames, rate = wav.getnframes(), wav.getframerate()
            width = wav.getsampwidth() * wav.getnchannels()
            payload = wav.readframes(frames)
    except (wave.Error, EOFError, ValueError) as exc:
        raise ValueError(f"corrupt WAV file ({exc})") from exc
    if rate <= 0 or frames <= 0:
        raise ValueError("corrupt WAV file (no audio frames)")
    if len(payload) < frames * width:
        raise ValueError("corrupt WAV file (truncated audio data)")
    return frames / rate


def inspect_audio(data: bytes) -> AudioInfo:
    kind = sniff(data)
    if kind is None:
        raise ValueError("not an audio file (WAV, MP3, OGG or FLAC expected)")
    if kind == "wav":
        return AudioInfo("audio/wav", "wav", _wav_duration(data))
    try:
        if kind == "flac":
            info = FLAC(io.BytesIO(data)).info
            media_type = "audio/flac"
        elif kind == "mp3":
            info = MP3(io.BytesIO(data)).info
            media_type = "audio/mpeg"
        else:
            try:
                info = OggVorbis(io.BytesIO(data)).info
            except mutagen.MutagenError:
                info = OggOpus(io.BytesIO(data)).info
            media_type = "audio/ogg"
    except (mutagen.MutagenError, ValueError, EOFError) as exc:
        raise ValueError(f"corrupt {kind.upper()} file ({exc})") from exc
    duration = float(getattr(info, "length", 0.0) or 0.0)
    if duration <= 0:
        raise ValueError(f"corrupt {kind.upper()} file (no audio)")
    return AudioInfo(media_type, kind, duration)


def write_tone_wav(*, frequency: float, seconds: float = 1.0, rate: int = 16000) -> bytes:
    """A mono 16-bit WAV tone (used by the demo and the tests)."""
    import numpy as np

    t = np.arange(int(seconds * rate)) / rate
    fade = np.minimum(1.0, np.minimum(t, seconds - t) * 20)
    samples = (0.3 * fade * np.sin(2 * np.pi * frequency * t) * 32767).astype("<i2")
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(samples.tobytes())
    return out.getvalue()
