"""TrimeshAnalyzer: the mesh-analysis adapter, from uploaded bytes to a MeshSummary."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import PurePosixPath

from domain.errors import FileTooLarge, InvalidModelFile
from domain.models import MeshSummary
from infra.mesh.corners import Corners
from infra.mesh.geometry import summarize
from infra.mesh.obj import parse_obj
from infra.mesh.sniff import describe_foreign
from infra.mesh.stl import parse_stl
from infra.mesh.threemf import parse_3mf

ACCEPTED = (".stl", ".obj", ".3mf")
_MB = 1024 * 1024
# A 3MF may unpack to this multiple of the upload cap: XML inflates 5-20x, bombs far more.
_UNPACK_FACTOR = 5
_REASON_CHARS = 160


class TrimeshAnalyzer:
    """Parses STL, OBJ and 3MF uploads in memory and measures them (model units = mm)."""

    def __init__(self, max_bytes: int = 50 * _MB, max_faces: int = 5_000_000) -> None:
        self.max_bytes = max_bytes
        self.max_faces = max_faces

    def analyze(self, data: bytes, filename: str) -> MeshSummary:
        """Summary of the model, or InvalidModelFile / FileTooLarge saying what is wrong."""
        file_format = screen(data, filename, self.max_bytes)
        try:
            return summarize(self._parse(file_format, data), file_format)
        except InvalidModelFile as refusal:
            raise _explain_foreign(refusal, data, file_format) from None
        except MemoryError:
            # Not swallowed: the caller learns the model was refused, and why.
            raise InvalidModelFile("model too complex") from None
        except Exception as exc:
            # Any parser crash on hostile input is the file's fault, not a server error.
            raise InvalidModelFile(
                f"could not parse {file_format.upper()} file: {_short_reason(exc)}"
            ) from exc

    def close(self) -> None:
        """Nothing to stop: the analysis runs in the caller's thread."""

    def _parse(self, file_format: str, data: bytes) -> Corners:
        parsers: dict[str, Callable[[], Corners]] = {
            "stl": lambda: parse_stl(data, self.max_faces),
            "obj": lambda: parse_obj(data, self.max_faces),
            "3mf": lambda: parse_3mf(data, self.max_faces, _UNPACK_FACTOR * self.max_bytes),
        }
        return parsers[file_format]()


def screen(data: bytes, filename: str, max_bytes: int) -> str:
    """The file's format, after the refusals that need no parsing (type, size, emptiness)."""
    file_format = _format_of(filename)
    if len(data) > max_bytes:
        raise FileTooLarge(f"file is larger than the {max_bytes / _MB:g} MB limit")
    if not data or data.isspace():
        raise InvalidModelFile("file is empty")
    return file_format


def _format_of(filename: str) -> str:
    """Lower-case format name from the file's extension, or a refusal naming the accepted ones."""
    suffix = PurePosixPath(filename.replace("\\", "/")).suffix.lower()
    accepted = ", ".join(ACCEPTED)
    if not suffix:
        raise InvalidModelFile(f"file name has no extension; accepted: {accepted}")
    if suffix not in ACCEPTED:
        raise InvalidModelFile(f"unsupported file type '{suffix[:16]}'; accepted: {accepted}")
    return suffix[1:]


def _explain_foreign(refusal: InvalidModelFile, data: bytes, file_format: str) -> InvalidModelFile:
    """Name a recognisable wrong file type instead of the parser's complaint about it."""
    kind = describe_foreign(data)
    if kind is None or (file_format == "3mf" and kind == "a ZIP archive"):
        return refusal
    article = "a" if file_format == "3mf" else "an"
    return InvalidModelFile(f"file is {kind}, not {article} {file_format.upper()} model")


def _short_reason(exc: BaseException) -> str:
    """First line of an exception message, trimmed for an API error body."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:_REASON_CHARS]
