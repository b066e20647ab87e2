"""Audio files checked by their content, never by their name, and the zips that bring them.

:func:`inspect_audio` recognises WAV, MP3, OGG and FLAC from their first bytes, parses the
file (the stdlib ``wave`` module for WAV, ``mutagen`` for the others) and returns the media
type and duration. A file that is not one of these, or that does not parse, raises
``ValueError`` with a message fit for an import report.

:class:`MediaArchive` reads a media zip within limits. A zip states each file's packed and
unpacked size; a zip bomb packs gigabytes of zeros into kilobytes. So every file is checked
against its stated sizes before any byte is unpacked (per-file size, compression ratio, and
the total of the files an import uses), then unpacked in chunks into a temporary file that
spills to disk, counting the bytes as they come: memory holds one chunk, never a whole file,
however the zip lies.
"""

from __future__ import annotations

import io
import tempfile
import wave
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from typing import IO

import mutagen
from django.utils.translation import gettext as _
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


# Frames of a WAV file read at a time when checking that its audio data is all there.
_WAV_FRAMES_PER_READ = 1 << 16


def _wav_duration(fh: IO[bytes]) -> float:
    try:
        with wave.open(fh, "rb") as wav:
            frames, rate = wav.getnframes(), wav.getframerate()
            width = wav.getsampwidth() * wav.getnchannels()
            read = 0
            while read < frames * width:
                chunk = wav.readframes(_WAV_FRAMES_PER_READ)
                if not chunk:
                    break
                read += len(chunk)
    except (wave.Error, EOFError, ValueError) as exc:
        raise ValueError(_("corrupt WAV file (%(exc)s)") % {"exc": exc}) from exc
    if rate <= 0 or frames <= 0:
        raise ValueError(_("corrupt WAV file (no audio frames)"))
    if read < frames * width:
        raise ValueError(_("corrupt WAV file (truncated audio data)"))
    return frames / rate


def inspect_audio(data: bytes | IO[bytes]) -> AudioInfo:
    """The type and duration of an audio file given as bytes or as a seekable binary file
    (read in pieces, from its start; its position afterwards is undefined)."""
    fh = io.BytesIO(data) if isinstance(data, bytes | bytearray) else data
    fh.seek(0)
    kind = sniff(fh.read(12))
    fh.seek(0)
    if kind is None:
        raise ValueError(_("not an audio file (WAV, MP3, OGG or FLAC expected)"))
    if kind == "wav":
        return AudioInfo("audio/wav", "wav", _wav_duration(fh))
    try:
        if kind == "flac":
            info = FLAC(fh).info
            media_type = "audio/flac"
        elif kind == "mp3":
            info = MP3(fh).info
            media_type = "audio/mpeg"
        else:
            try:
                info = OggVorbis(fh).info
            except mutagen.MutagenError:
                fh.seek(0)
                info = OggOpus(fh).info
            media_type = "audio/ogg"
    except (mutagen.MutagenError, ValueError, EOFError) as exc:
        raise ValueError(
            _("corrupt %(kind)s file (%(exc)s)") % {"kind": kind.upper(), "exc": exc}
        ) from exc
    duration = float(getattr(info, "length", 0.0) or 0.0)
    if duration <= 0:
        raise ValueError(_("corrupt %(kind)s file (no audio)") % {"kind": kind.upper()})
    return AudioInfo(media_type, kind, duration)


# --- media zips ----------


def _megabytes(n: int) -> str:
    return f"{n / 2**20:,.1f} MB"


# Small files may pack well (a short silence); the ratio limit applies from this size on.
RATIO_FLOOR_BYTES = 1 << 20
# Unpacked bytes copied at a time, and the part of a file kept in memory before it spills to
# a temporary file on disk.
CHUNK_BYTES = 1 << 20
SPOOL_BYTES = 4 << 20


@dataclass(frozen=True)
class ZipLimits:
    entry_bytes: int  # one file, unpacked
    total_bytes: int  # the files one import uses, unpacked, together
    ratio: int  # unpacked / packed size of one file (from RATIO_FLOOR_BYTES on)
    entries: int  # files in the zip


def base_name(name: str) -> str:
    return name.rsplit("/", 1)[-1]


class MediaArchive:
    """A media zip whose files are found by base name and read one at a time within limits.

    Opening reads only the zip's directory. :meth:`problem` checks a file's stated sizes;
    :meth:`open` unpacks it in chunks into a temporary file, refusing it as soon as it passes
    the per-file limit (whatever its stated size). Raises ``ValueError`` with a message fit for
    an import report.
    """

    def __init__(self, source: bytes | IO[bytes], *, limits: ZipLimits) -> None:
        self.limits = limits
        fh = io.BytesIO(source) if isinstance(source, bytes | bytearray) else source
        try:
            self._zip = zipfile.ZipFile(fh)
            infos = [info for info in self._zip.infolist() if not info.is_dir()]
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
            raise ValueError(_("The media archive is not a zip file.")) from None
        if len(infos) > limits.entries:
            raise ValueError(
                _("The media archive holds %(n)s files; the limit is %(limit)s.")
                % {"n": f"{len(infos):,}", "limit": f"{limits.entries:,}"}
            )
        self._infos = {base_name(info.filename): info for info in infos}

    def __contains__(self, name: str) -> bool:
        return name in self._infos

    def size(self, name: str) -> int:
        """The stated unpacked size of a file."""
        return int(self._infos[name].file_size)

    def problem(self, name: str, *, max_bytes: int | None = None) -> str | None:
        """Why a file may not be unpacked, judged by its stated sizes; None when it may."""
        info = self._infos[name]
        limit = min(self.limits.entry_bytes, max_bytes or self.limits.entry_bytes)
        if info.flag_bits & 0x1:
            return _("encrypted files are not supported")
        if info.file_size > limit:
            return _("unpacks to %(size)s; the limit is %(limit)s per file") % {
                "size": _megabytes(info.file_size),
                "limit": _megabytes(limit),
            }
        if info.file_size >= RATIO_FLOOR_BYTES and info.file_size > self.limits.ratio * max(
            info.compress_size, 1
        ):
            ratio = info.file_size / max(info.compress_size, 1)
            return _(
                "packed %(ratio)s to 1; the limit is %(limit)s to 1 (the zip looks like a zip bomb)"
            ) % {"ratio": f"{ratio:,.0f}", "limit": self.limits.ratio}
        return None

    def total_problem(self, names: Iterable[str]) -> str | None:
        """Why these files may not be unpacked together (their stated total); None if they may."""
        total = sum(self.size(name) for name in set(names))
        if total > self.limits.total_bytes:
            return _(
                "The media files of this import unpack to %(size)s; the limit is %(limit)s."
            ) % {
                "size": _megabytes(total),
                "limit": _megabytes(self.limits.total_bytes),
            }
        return None

    def open(self, name: str, *, max_bytes: int | None = None) -> IO[bytes]:
        """The file unpacked into a temporary file (memory up to ``SPOOL_BYTES``, then disk),
        positioned at its start. The caller closes it."""
        problem = self.problem(name, max_bytes=max_bytes)
        if problem:
            raise ValueError(problem)
        info = self._infos[name]
        limit = min(self.limits.entry_bytes, max_bytes or self.limits.entry_bytes)
        out = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 (returned)
        written = 0
        try:
            with self._zip.open(info) as entry:
                while chunk := entry.read(CHUNK_BYTES):
                    written += len(chunk)
                    # zipfile stops at the stated size; this guards a reader that would not.
                    if written > limit or written > info.file_size:
                        raise ValueError(
                            _("unpacks to more than %(limit)s; the limit per file")
                            % {"limit": _megabytes(limit)}
                        )
                    out.write(chunk)
        except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError, RuntimeError) as exc:
            out.close()
            raise ValueError(_("cannot be unpacked (%(exc)s)") % {"exc": exc}) from None
        except ValueError:
            out.close()
            raise
        out.seek(0)
        return out


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
