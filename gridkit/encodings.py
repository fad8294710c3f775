"""Text encodings of input files as they come: UTF-8, UTF-8 with a byte-order mark, GBK/GB18030.

A CSV saved by Excel on a Chinese Windows is GBK; a Shapefile from a Chinese GIS often has no
``.cpg`` beside its ``.dbf`` and GBK text in it (GDAL then assumes ISO-8859-1 and ``楼00000`` comes
out as ``Â¥00000``). :func:`detect_encoding` chooses the encoding of a file's bytes:

1. a byte-order mark decides (UTF-8, UTF-16);
2. bytes that decode as UTF-8 are UTF-8;
3. bytes that decode as GB18030 (a superset of GBK and GB2312) and whose non-ASCII characters are
   mostly common Chinese (in GB2312) are GB18030: Latin-1 text read as GBK gives rare extension
   characters, never common ones, so this does not mistake a German ``Müllerstraße`` for Chinese;
4. bytes that decode as Windows-1252 into printable text are Windows-1252 (Western Europe);
5. otherwise charset-normalizer's best guess.

Every choice other than UTF-8 is announced by a :class:`~gridkit.errors.GridkitWarning` naming the
encoding; text that does not decode is an :class:`~gridkit.errors.InputDataError` naming the file,
the line (or feature) and the bytes. An encoding the user names is used as given, strictly.
"""

from __future__ import annotations

import codecs
import warnings
from dataclasses import dataclass

from gridkit.errors import GridkitWarning, InputDataError

__all__ = ["DecodedText", "decode_text", "detect_encoding", "normalise_encoding"]

_GB2312_SHARE = 0.8  # share of non-ASCII characters that must be common Chinese to choose GB18030
_CHINESE = {"gbk", "gb2312", "gb18030", "cp936", "hz", "big5", "big5hkscs", "cp950", "cp949", "euc_kr",
            "euc_jp", "shift_jis", "cp932"}


@dataclass(frozen=True)
class DecodedText:
    """Text of a file and the encoding it was decoded with (``detected`` when gridkit chose it)."""

    text: str
    encoding: str
    detected: bool


def normalise_encoding(name: str) -> str:
    """Python's codec name for ``name`` (``"GBK"``, ``"utf8"``, ``"cp936"``); an unknown name is an error."""
    try:
        return codecs.lookup(str(name).strip()).name
    except LookupError as exc:
        raise InputDataError(f"unknown encoding {name!r}; use for example utf-8, utf-8-sig, gbk or gb18030") from exc


def _gb2312_share(text: str) -> float:
    wide = [c for c in text if ord(c) > 127]
    if not wide:
        return 1.0
    common = 0
    for char in wide:
        try:
            char.encode("gb2312")
            common += 1
        except UnicodeEncodeError:
            pass
    return common / len(wide)


def detect_encoding(data: bytes) -> str | None:
    """Return the codec name of ``data`` (see the module docstring), or None when nothing fits.

    Examples
    --------
    >>> detect_encoding("楼00000,杏花巷7号".encode("gbk"))
    'gb18030'
    >>> detect_encoding("楼00000".encode("utf-8"))
    'utf-8'
    """
    for bom, name in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            return name
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        return "utf-8"
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError:
        text = None
    if text is not None and _gb2312_share(text) >= _GB2312_SHARE:
        return "gb18030"
    return _single_byte_or_guess(data, chinese=text is not None)


def _single_byte_or_guess(data: bytes, *, chinese: bool) -> str | None:
    """Windows-1252 where it reads as printable text, else charset-normalizer's guess."""
    try:  # the usual single-byte code page of Western files (Excel on a European Windows)
        western = data.decode("cp1252")
    except UnicodeDecodeError:
        western = None
    if western is not None and all(c.isprintable() or c in "\r\n\t" for c in western):
        return "cp1252"
    from charset_normalizer import from_bytes  # noqa: PLC0415 - only for files that are neither UTF-8 nor GBK

    best = from_bytes(data).best()
    if best is None:
        return None
    name = normalise_encoding(best.encoding)
    if name in _CHINESE and chinese:
        return "gb18030"  # an East Asian guess for bytes that are valid GB18030: the Chinese reading
    return name


def _where(text_bytes: bytes, position: int) -> str:
    line = text_bytes.count(b"\n", 0, position) + 1
    snippet = text_bytes[position:position + 4].hex(" ")
    return f"line {line} (bytes {snippet})"


def _utf8_damaged(data: bytes) -> int | None:
    """Byte offset of the first bad sequence when ``data`` is mostly UTF-8 with a few bad bytes."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        first = exc.start
    else:
        return None
    text = data.decode("utf-8", errors="replace")
    bad = text.count("\ufffd")
    good = sum(1 for c in text if ord(c) > 127 and c != "\ufffd")
    return first if good > 4 * bad else None


def decode_text(data: bytes, *, encoding: str | None = None, source: object = None) -> DecodedText:
    """Decode the bytes of a text file, detecting the encoding when ``encoding`` is None.

    Parameters
    ----------
    data
        The file's bytes.
    encoding
        The encoding to use (strictly); None detects it (and warns when it is not UTF-8).
    source
        The file, named in warnings and errors.

    Raises
    ------
    InputDataError
        The named encoding does not fit the bytes, or the file mixes encodings (mostly UTF-8 with
        some bytes that are not), or no encoding fits.
    """
    if encoding is not None:
        name = normalise_encoding(encoding)
        if name == "utf-8" and data.startswith(codecs.BOM_UTF8):
            name = "utf-8-sig"
        try:
            return DecodedText(data.decode(name), name, detected=False)
        except UnicodeDecodeError as exc:
            raise InputDataError(
                f"text is not valid {encoding} at {_where(data, exc.start)}; check the file's encoding "
                "(utf-8, gbk …) or leave --encoding out to detect it", source=source) from exc
    damaged = _utf8_damaged(data)
    if damaged is not None:
        raise InputDataError(
            f"text is UTF-8 except at {_where(data, damaged)}: the file mixes encodings (rows pasted from a "
            "GBK file?); save it again as UTF-8", source=source)
    name = detect_encoding(data)
    if name is None:
        raise InputDataError("cannot tell the text encoding; name it with encoding= (--encoding), e.g. gbk",
                             source=source)
    try:
        text = data.decode(name)
    except UnicodeDecodeError as exc:  # charset-normalizer guessed from a sample
        raise InputDataError(f"text does not decode as the detected {name} at {_where(data, exc.start)}; name "
                             "the encoding with encoding= (--encoding)", source=source) from exc
    if name not in {"utf-8", "utf-8-sig"}:
        shown = "GBK/GB18030" if name == "gb18030" else name
        warnings.warn(f"{source}: text encoding detected as {shown} (not UTF-8); pass encoding= (--encoding) "
                      "to choose another", GridkitWarning, stacklevel=3)
    return DecodedText(text, name, detected=True)
