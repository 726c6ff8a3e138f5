"""Request bodies read item by item, in bounded memory: a JSON array, JSON lines (NDJSON) and RFC
4180 CSV. A line or a row that cannot be read is that item's 400 (see :func:`unreadable`) and the
others run; what is wrong with the body as a whole (a JSON array that is not one, a CSV without a
header) refuses the request.

Nothing here needs Django: the parsers hand these readers the body's bytes, all at once for a
synchronous batch, chunk by chunk as they arrive for a background one.
"""

from __future__ import annotations

import codecs
import csv
import json
from collections.abc import Callable, Iterable, Iterator
from typing import Any

#: The key of the one-key object that stands for an item the body holds but that could not be
#: read: ``{"__unreadable__": {"detail": "…", "code": "…"}}``. Stored in a job's chunks as any
#: item is; the operations answer it 400 with that detail and code.
UNREADABLE = "__unreadable__"
#: The longest line of NDJSON, or row of CSV, read as an item (bytes); a longer one is that
#: item's 400.
MAX_ITEM_SIZE = 1024 * 1024
#: A CSV cell holding exactly this is null (as PostgreSQL and MySQL write NULL in text).
CSV_NULL = "\\N"
#: The columns a job's CSV export adds, ignored when the file comes back.
CSV_EXPORT_COLUMNS = ("_index", "_status", "_errors")
#: What a spreadsheet would run as a formula when a cell starts with it; an exported cell that
#: does is written after a ``'``, which an upload drops again.
FORMULA_STARTS = ("=", "+", "-", "@")


class BodyError(ValueError):
    """What is wrong with a body as a whole: the request is refused, nothing runs."""


def unreadable_item(detail: str, code: str = "unreadable") -> dict[str, Any]:
    return {UNREADABLE: {"detail": detail, "code": code}}


def unreadable(item: Any) -> dict[str, str] | None:
    """Why ``item`` could not be read (``{"detail", "code"}``), or None for an item read."""
    if isinstance(item, dict) and len(item) == 1 and UNREADABLE in item:
        reason = item[UNREADABLE]
        if isinstance(reason, dict):
            return {"detail": str(reason.get("detail", "")), "code": str(reason.get("code", ""))}
    return None


# JSON arrays ------------------------------------------------------------------------------------


def json_array_items(
    chunks: Iterable[bytes],
    encoding: str = "utf-8",
    parse_constant: Callable[[str], Any] | None = None,
    max_item_size: int = MAX_ITEM_SIZE,
) -> Iterator[Any]:
    """The members of the JSON array the body holds, one by one as the bytes arrive. Raises
    ``BodyError`` where the body is not one JSON array, or where a member is longer than
    ``max_item_size`` (a JSON document cannot be read past a member it cannot hold)."""
    decoder = json.JSONDecoder(parse_constant=parse_constant)
    text = TextChunks(chunks, encoding)
    buffer, position = "", 0
    state = "start"  # start → member → comma → … → end
    while True:
        position = skip_whitespace(buffer, position)
        if position >= len(buffer):
            more = text.read()
            if more is None:
                break
            buffer, position = buffer[position:] + more, 0
            continue
        char = buffer[position]
        if state == "start":
            if char != "[":
                raise BodyError("JSON parse error - expected an array of items.")
            state, position = "first", position + 1
        elif state in ("first", "member"):
            if char == "]" and state == "first":
                state, position = "end", position + 1
                continue
            try:
                value, end = decoder.raw_decode(buffer, position)
            except json.JSONDecodeError as exc:
                if text.ended:
                    raise BodyError(f"JSON parse error - {exc}") from exc
                end = -1
            except RecursionError as exc:
                raise BodyError("JSON parse error - nesting too deep.") from exc
            if end < 0 or (end == len(buffer) and not text.ended):  # cut short: read on
                if len(buffer) - position > max_item_size:
                    raise BodyError(f"An item is longer than {max_item_size} bytes.")
                more = text.read()
                if more is not None:
                    buffer = buffer[position:] + more
                    position = 0
                continue
            yield value
            state, position = "comma", end
        elif state == "comma":
            if char == ",":
                state, position = "member", position + 1
            elif char == "]":
                state, position = "end", position + 1
            else:
                raise BodyError(
                    f"JSON parse error - expected ',' or ']' after an item, found {char!r}."
                )
        else:
            raise BodyError("JSON parse error - extra data after the array.")
    if state != "end":
        raise BodyError("JSON parse error - the array is not closed.")


def skip_whitespace(text: str, position: int) -> int:
    while position < len(text) and text[position] in " \t\r\n":
        position += 1
    return position


class TextChunks:
    """Bytes decoded as they come (a sequence split between two chunks waits for the next)."""

    def __init__(self, chunks: Iterable[bytes], encoding: str) -> None:
        self.chunks = iter(chunks)
        self.decoder = codecs.getincrementaldecoder(encoding)()
        self.ended = False

    def read(self) -> str | None:
        """The next decoded text, or None at the end."""
        while not self.ended:
            chunk = next(self.chunks, None)
            try:
                if chunk is None:
                    self.ended = True
                    return self.decoder.decode(b"", final=True)
                text = self.decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                raise BodyError(f"JSON parse error - {exc}") from exc
            if text:
                return text
        return None


# Lines ----------------------------------------------------------------------------------------


def lines(chunks: Iterable[bytes], max_size: int = MAX_ITEM_SIZE) -> Iterator[bytes | None]:
    """The body's lines (without their ``\\n``), as bytes; None for a line longer than
    ``max_size``, whose bytes are not kept."""
    pending = b""
    too_long = False
    for chunk in chunks:
        start = 0
        while True:
            end = chunk.find(b"\n", start)
            if end < 0:
                if not too_long:
                    pending += chunk[start:]
                    if len(pending) > max_size:
                        pending, too_long = b"", True
                break
            line = b"" if too_long else pending + chunk[start:end]
            yield None if too_long or len(line) > max_size else line
            pending, too_long, start = b"", False, end + 1
    if too_long:
        yield None
    elif pending:
        yield pending


def ndjson_items(
    chunks: Iterable[bytes],
    parse_constant: Callable[[str], Any] | None = None,
    max_item_size: int = MAX_ITEM_SIZE,
) -> Iterator[Any]:
    """One item per line of JSON text (blank lines skipped); a line that is no JSON (not
    UTF-8, a NUL byte, too long, invalid) is an unreadable item."""
    for number, line in enumerate(lines(chunks, max_item_size), start=1):
        if line is None:
            yield unreadable_item(
                f"Line {number} is longer than {max_item_size} bytes.", "too_long"
            )
            continue
        if not line.strip():
            continue
        if b"\x00" in line:
            yield unreadable_item(f"Line {number} holds a NUL byte.", "invalid_characters")
            continue
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError:
            yield unreadable_item(f"Line {number} is not UTF-8 text.", "invalid_encoding")
            continue
        try:
            yield json.loads(text, parse_constant=parse_constant)
        except RecursionError:
            yield unreadable_item(f"Line {number}: JSON nested too deep.", "parse_error")
        except ValueError as exc:
            yield unreadable_item(f"Line {number} is not JSON: {exc}", "parse_error")


# CSV ------------------------------------------------------------------------------------------


def csv_items(
    chunks: Iterable[bytes],
    charset: str = "utf-8",
    many_valued: Iterable[str] = (),
    max_item_size: int = MAX_ITEM_SIZE,
) -> Iterator[Any]:
    """One item per row of RFC 4180 CSV after its header row of field names. An empty cell
    leaves its field out, ``\\N`` is null, a cell of a many-valued field holds a JSON array
    (or one value), and a cell a spreadsheet export escaped (``'=…``) is read without the
    ``'``. Columns of a job's CSV export (``_index``, ``_status``, ``_errors``) are ignored;
    empty lines, and rows of empty cells only, are no items.

    A row with more or fewer cells than the header, bytes that are not text in ``charset``, a
    NUL byte, or a line longer than ``max_item_size`` is an unreadable item. Raises
    ``BodyError`` for a body without a header, with a column named twice or not at all, or
    that ``csv`` cannot read on (a quoted cell never closed, a quote after a quoted cell)."""
    try:
        codec = codecs.lookup(charset)
    except LookupError as exc:
        raise BodyError(f"Unknown charset {charset!r}.") from exc
    many = set(many_valued)
    problems: dict[int, dict[str, Any]] = {}  # physical line number → why it is unreadable
    longest = min(max_item_size, csv.field_size_limit())  # what csv reads in one field
    reader = csv.reader(decoded_lines(chunks, codec.name, longest, problems), strict=True)
    try:
        header = next(reader)
    except StopIteration:
        raise BodyError("The CSV body has no header row naming its columns.") from None
    except csv.Error as exc:
        raise BodyError(f"The CSV header cannot be read: {exc}.") from exc
    names = [
        name.lstrip("\ufeff").strip() if index == 0 else name.strip()
        for index, name in enumerate(header)
    ]
    check_header(names, problems)
    last_line = reader.line_num
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:  # the rows after it cannot be told apart: none is read
            message = f"The CSV body cannot be read past line {reader.line_num}: {exc}."
            raise BodyError(message) from exc
        first, last_line = last_line + 1, reader.line_num
        problem = next(
            (problems.pop(n) for n in range(first, last_line + 1) if n in problems), None
        )
        if problem is not None:
            yield problem
        elif not any(row):
            continue  # an empty line, or a row of empty cells
        elif len(row) != len(names):
            yield unreadable_item(
                f"Row on line {first} has {len(row)} cells; the header names {len(names)}.",
                "wrong_cell_count",
            )
        else:
            yield row_item(names, row, many)


def check_header(names: list[str], problems: dict[int, dict[str, Any]]) -> None:
    if 1 in problems:
        raise BodyError(f"The CSV header cannot be read: {problems[1][UNREADABLE]['detail']}")
    if not any(names):
        raise BodyError("The CSV body has no header row naming its columns.")
    if not all(names):
        raise BodyError("A column of the CSV header has no name.")
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise BodyError(f"The CSV header names {', '.join(repeated)} more than once.")


def decoded_lines(
    chunks: Iterable[bytes], encoding: str, max_size: int, problems: dict[int, dict[str, Any]]
) -> Iterator[str]:
    """The body's lines as text for ``csv.reader``, one physical line each, noting in
    ``problems`` the lines that cannot be read (and handing the reader an empty line in their
    place). A charset that does not write ``\\n`` as that byte is decoded whole."""
    if "a\n".encode(encoding) != b"a\n":
        decoded = TextChunks(chunks, encoding)
        buffer = ""
        while (more := decoded.read()) is not None:
            buffer += more
            *complete, buffer = buffer.split("\n")
            for line in complete:
                yield line + "\n"
        if buffer:
            yield buffer
        return
    for number, raw in enumerate(lines(chunks, max_size), start=1):
        text, problem = read_line(number, raw, encoding, max_size)
        if problem is not None:
            problems[number] = problem
        yield text + "\n"


def read_line(
    number: int, raw: bytes | None, encoding: str, max_size: int
) -> tuple[str, dict[str, Any] | None]:
    """A line of a CSV body as text, or, as the unreadable item of its row, why it cannot be
    read (its text then empty)."""
    if raw is None:
        return "", unreadable_item(f"Line {number} is longer than {max_size} bytes.", "too_long")
    if b"\x00" in raw:
        return "", unreadable_item(f"Line {number} holds a NUL byte.", "invalid_characters")
    try:
        return raw.decode(encoding), None
    except UnicodeDecodeError:
        return "", unreadable_item(f"Line {number} is not {encoding} text.", "invalid_encoding")


def row_item(names: list[str], row: list[str], many: set[str]) -> dict[str, Any]:
    item: dict[str, Any] = {}
    for name, cell in zip(names, row, strict=True):
        if cell == "" or name in CSV_EXPORT_COLUMNS:
            continue
        item[name] = cell_value(cell, name in many)
    return item


def cell_value(cell: str, many: bool) -> Any:
    if cell == CSV_NULL:
        return None
    if cell.startswith("'") and cell[1:2] in FORMULA_STARTS and cell[1:2]:
        cell = cell[1:]
    if many:
        if cell.startswith("["):
            try:
                value = json.loads(cell)
            except ValueError:
                return cell
            return value
        return [cell]
    return cell


def csv_cell(value: Any) -> str:
    """A value as a CSV export writes it, to be read back as it was: null ``\\N``, lists and
    objects as JSON, booleans ``true``/``false``, anything a spreadsheet would run as a
    formula after a ``'``."""
    if value is None:
        return CSV_NULL
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    text = str(value)
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text
