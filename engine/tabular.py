"""Reading a CSV or XLSX file into rows of a declared `TableSchema`, safely.

Plain Python, no Django. What it copes with (shared FEEDS.md): CSV in UTF-8 with or without
BOM or GB18030/GBK, XLSX (first sheet or a named one), title rows above the header, a header
split over two rows by merged cells, blank rows, a trailing totals row (合计/总计), extra
columns. What it refuses, with a `FileError` in Chinese and English and never a traceback:
an empty file, binary garbage, a legacy .xls, an XLSX that would decompress to too much (zip
bomb) or that declares a DTD (XML entity attack), a file without a recognisable header, and
a header without a required column.

The format is told by the file's first bytes, not by its name. CSV rows are streamed, so a
million-row file is never held in memory; XLSX is read by python-calamine (Rust, no entity
expansion) only after the archive has been checked.
"""

from __future__ import annotations

import codecs
import csv
import html
import io
import itertools
import posixpath
import re
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from xml.etree import ElementTree

from engine.errors import BilingualError
from engine.parsing import Formula, normalize_header, normalize_text
from engine.schema import Column, TableSchema

Source = str | Path | bytes

HEADER_SEARCH_ROWS = 20
MAX_XLSX_BYTES = 200 * 1024 * 1024  # compressed
MAX_ZIP_ENTRIES = 10_000
MAX_UNCOMPRESSED_BYTES = 1024 * 1024 * 1024
MAX_COMPRESSION_RATIO = 500  # per entry, for entries above 1 MiB: ordinary sheets compress 5–30×
TOTALS_WORDS = frozenset({"合计", "总计"})
_CHUNK = 1024 * 1024
_FORBIDDEN_XML = (b"<!doctype", b"<!entity")
_FORBIDDEN_XML_WIDE = tuple(
    w.decode().encode(enc).lower() for w in _FORBIDDEN_XML for enc in ("utf-16-le", "utf-16-be")
)
# Every formula ends `</f>` (a shared formula's other cells have `<f …/>`, but its first cell
# is in the same sheet); `:f>` when the sheet's elements carry a namespace prefix. One long
# needle is what keeps this scan cheap beside the DTD check.
_FORMULA_END = b"</f>"
_FORMULA_END_PREFIXED = b":f>"
# A formula element, and the tag just before it: its cell's (CT_Cell holds f first, then v).
_FORMULA_OPEN = re.compile(rb"<(?:[\w.-]+:)?f[\s>/]")
_CELL_TAG = re.compile(rb"<(?:[\w.-]+:)?c\s([^>]*?)>\s*$")
_CELL_REF = re.compile(rb"""\br\s*=\s*["']\$?([A-Z]{1,3})\$?([0-9]+)["']""")
_SHARED_INDEX = re.compile(rb"""\bsi\s*=\s*["']([0-9]+)["']""")
_FORMULA_OVERLAP = 256 * 1024  # longer than any cell with its formula (Excel: 8,192 characters)
_CELL_TAG_MAX = 4096  # longer than any cell's opening tag


class FileError(BilingualError):
    """A whole file refused."""


@dataclass(frozen=True, slots=True)
class RawRow:
    """One data row: where it is in the file (`12` or `Sheet1!12`) and its cells by column name."""

    line: str
    cells: dict[str, Any]


@dataclass
class HeaderMatch:
    """Which cell position holds which column, found in the file's first rows."""

    schema: TableSchema
    row_index: int  # 0-based index (in the rows read) of the last header row
    positions: dict[int, str]  # cell index → column name
    extra: list[str] = field(default_factory=list)  # headers of unknown columns (ignored)
    missing_required: list[Column] = field(default_factory=list)
    header_rows: list[int] = field(default_factory=list)

    @property
    def score(self) -> int:
        return len(self.positions)

    @property
    def columns(self) -> list[str]:
        return list(self.positions.values())


@dataclass
class Table:
    """An opened file: its format, the matched header and a one-pass iterator over its rows."""

    format: str  # "csv" or "xlsx"
    schema: TableSchema
    header: HeaderMatch
    sheet: str = ""
    encoding: str = ""
    estimated_rows: int = 0  # physical lines (CSV) or sheet rows (XLSX), for progress bars
    header_line: str = ""  # where the (last) header row is: `1` or `Sheet1!3`
    _rows: Iterator[tuple[str, list[Any]]] | None = field(default=None, repr=False)
    _close: Any = field(default=None, repr=False)

    @property
    def extra_columns(self) -> list[str]:
        return self.header.extra

    def rows(self) -> Iterator[RawRow]:
        """Data rows below the header: blank rows and a trailing totals row skipped."""
        if self._rows is None:
            raise RuntimeError("rows() can be iterated only once")
        source, self._rows = self._rows, None
        positions = self.header.positions
        held: RawRow | None = None  # a totals row is dropped only if nothing follows it
        try:
            for line, cells in source:
                first = next((c for c in cells if not _blank(c)), None)
                if first is None:
                    continue
                row = RawRow(line, {name: (cells[i] if i < len(cells) else None) for i, name in positions.items()})
                if held is not None:
                    yield held
                    held = None
                if normalize_header(first) in TOTALS_WORDS:
                    held = row
                    continue
                yield row
        finally:
            self.close()

    def close(self) -> None:
        if self._close is not None:
            self._close()
            self._close = None


def _blank(value: Any) -> bool:
    return value is None or value == "" or (isinstance(value, str) and not value.strip())


# -- opening ----------------------------------------------------------------------------------


def sniff_format(head: bytes) -> str:
    """'xlsx' or 'csv' from the first bytes; raises FileError for anything else."""
    if not head.strip():
        raise FileError("empty", "文件为空", "the file is empty")
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise FileError(
            "xls",
            "不支持旧版 Excel（.xls）文件，请另存为 .xlsx 或 CSV",
            "legacy Excel (.xls) files are not supported; save as .xlsx or CSV",
        )
    if head.startswith((b"%PDF", b"\x1f\x8b", b"Rar!", b"7z\xbc\xaf", b"\x89PNG", b"\xff\xd8\xff")):
        raise _not_a_table()
    if b"\x00" in head[:4096] and not head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise _not_a_table()
    return "csv"


def _not_a_table() -> FileError:
    return FileError(
        "binary", "无法识别的文件：请上传 .xlsx 或 .csv 表格", "unrecognised file: upload an .xlsx or .csv table"
    )


def _open_binary(source: Source) -> IO[bytes]:
    if isinstance(source, bytes | bytearray):
        return io.BytesIO(source)
    return open(source, "rb")


def _size(stream: IO[bytes]) -> int:
    pos = stream.tell()
    stream.seek(0, io.SEEK_END)
    size = stream.tell()
    stream.seek(pos)
    return size


def open_table(
    source: Source,
    schemas: TableSchema | Mapping[str, TableSchema],
    *,
    sheet: str | None = None,
    max_xlsx_bytes: int = MAX_XLSX_BYTES,
) -> Table:
    """Open a file and find its header; with several schemas, the one the header fits best.

    A workbook's `sheet` is read by name; by default its first sheet that holds anything
    (for a CSV `sheet` means nothing). Formula cells of the header's columns come back as
    `engine.parsing.Formula`, whatever value Excel last computed for them.

    Raises FileError (empty, garbage, unsafe XLSX, no such sheet, no header, missing
    required column). Iterate `table.rows()` once; the file is closed at the end (or by
    `table.close()`).
    """
    candidates = [schemas] if isinstance(schemas, TableSchema) else list(schemas.values())
    stream = _open_binary(source)
    close: Any = stream.close
    try:
        head = stream.read(8192)
        stream.seek(0)
        fmt = sniff_format(head)
        workbook: _Sheet | None = None
        if fmt == "xlsx":
            workbook = _xlsx_sheet(stream, sheet, max_xlsx_bytes)
            sheet_name, lines, raw_rows = workbook.name, len(workbook.rows), workbook.iter_rows()
            encoding, close = "", None
        else:
            sheet_name = ""
            encoding, lines = _detect_encoding(stream)
            text = io.TextIOWrapper(stream, encoding=encoding, newline="")
            close = text.close  # closes the file beneath it too
            raw_rows = _csv_rows(text)
        first = list(itertools.islice(raw_rows, HEADER_SEARCH_ROWS))
        header = find_header(first, candidates)
        header_line = first[header.row_index][0]
        rest: Iterator[tuple[str, list[Any]]] = itertools.chain(first[header.row_index + 1 :], raw_rows)
        if workbook is not None:
            if workbook.formula_part is not None:
                below = _sheet_row(header_line)
                formulas = _formula_cells(stream, workbook.formula_part, set(header.positions), below)
                if formulas:  # (a =ROW() 序号 alone leaves the rows as they are)
                    rest = _with_formulas(rest, formulas, workbook.name)
            stream.close()
        return Table(
            fmt,
            header.schema,
            header,
            sheet_name,
            encoding,
            max(lines - header.row_index - 1, 0),
            header_line,
            rest,
            close,
        )
    except BaseException:
        if close is not None:
            close()
        stream.close()
        raise


def detect_schema(source: Source, schemas: Mapping[str, TableSchema], *, sheet: str | None = None) -> TableSchema:
    """Which of `schemas` the file's header fits best (all required columns, most matches)."""
    table = open_table(source, schemas, sheet=sheet)
    table.close()
    return table.schema


def xlsx_sheet_names(source: Source, *, max_xlsx_bytes: int = MAX_XLSX_BYTES) -> list[str]:
    """The sheet names of a (checked) XLSX file, in workbook order."""
    from python_calamine import CalamineWorkbook

    with _open_binary(source) as stream:
        check_xlsx(stream, max_bytes=max_xlsx_bytes)
        stream.seek(0)
        try:
            return list(CalamineWorkbook.from_filelike(stream).sheet_names)
        except Exception as exc:
            raise _broken_xlsx() from exc


# -- CSV --------------------------------------------------------------------------------------


def _detect_encoding(stream: IO[bytes]) -> tuple[str, int]:
    """utf-8-sig if the whole file decodes as UTF-8, else gb18030 (a superset of GBK).

    Decoding is checked in one streaming pass before any row is read, so a GBK byte on line
    900,000 cannot turn up after 899,999 rows have been taken as UTF-8.
    """
    head = stream.read(4)
    stream.seek(0)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16", _size(stream) // 100  # an estimate, for the progress bar only
    for encoding in ("utf-8-sig", "gb18030"):
        decoder = codecs.getincrementaldecoder(encoding)()
        lines = 1
        try:
            while chunk := stream.read(_CHUNK):
                decoder.decode(chunk)
                lines += chunk.count(b"\n")
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            continue
        finally:
            stream.seek(0)
        return encoding, lines
    raise FileError(
        "encoding",
        "无法识别文件编码，请保存为 UTF-8 或 GBK 编码的 CSV",
        "unrecognised text encoding; save the CSV as UTF-8 or GBK",
    )


def _csv_rows(text: IO[str]) -> Iterator[tuple[str, list[Any]]]:
    sample = text.read(16384)
    text.seek(0)
    delimiter = "\t" if sample.count("\t") > sample.count(",") else ","

    def generate() -> Iterator[tuple[str, list[Any]]]:
        reader = csv.reader(text, delimiter=delimiter)
        start = 1
        try:
            for cells in reader:
                yield str(start), cells
                start = reader.line_num + 1
        except csv.Error as exc:
            raise FileError(
                "csv", f"CSV 格式错误（第{reader.line_num}行）", f"malformed CSV (line {reader.line_num}): {exc}"
            ) from None

    return generate()


# -- XLSX -------------------------------------------------------------------------------------


def _broken_xlsx() -> FileError:
    return FileError(
        "xlsx", "Excel 文件已损坏或不是有效的 .xlsx 文件", "the Excel file is damaged or not a valid .xlsx"
    )


def _zip_bomb() -> FileError:
    return FileError(
        "zip_bomb",
        "Excel 文件解压后过大，已拒绝（疑似压缩炸弹）",
        "the Excel file would decompress to too much data and was refused (zip bomb)",
    )


def check_xlsx(
    stream: IO[bytes],
    *,
    max_bytes: int = MAX_XLSX_BYTES,
    max_entries: int = MAX_ZIP_ENTRIES,
    max_uncompressed: int = MAX_UNCOMPRESSED_BYTES,
    max_ratio: int = MAX_COMPRESSION_RATIO,
) -> set[str]:
    """Refuse an XLSX before any real parser decompresses it; return the sheet parts that
    hold a formula (so that only those are read again, by `_formula_cells`).

    Checks the file size, the zip's entry count and declared sizes, then streams every XML
    part through a capped decompressor (so forged sizes cannot help: reading stops at the
    declared size and the CRC check fails) looking for DTD or entity declarations.
    """
    if _size(stream) > max_bytes:
        raise FileError(
            "too_large",
            f"文件超过 {max_bytes // (1024 * 1024)} MB 上限",
            f"the file exceeds the {max_bytes // (1024 * 1024)} MB limit",
        )
    stream.seek(0)
    try:
        archive = zipfile.ZipFile(stream)
    except (zipfile.BadZipFile, OSError, ValueError):
        raise _broken_xlsx() from None
    with archive:
        infos = archive.infolist()
        if len(infos) > max_entries:
            raise _zip_bomb()
        if sum(i.file_size for i in infos) > max_uncompressed:
            raise _zip_bomb()
        for info in infos:
            if info.file_size > 1024 * 1024 and info.file_size > max_ratio * max(info.compress_size, 1):
                raise _zip_bomb()
        names = {i.filename for i in infos}
        if "xl/workbook.xml" not in names:
            raise _broken_xlsx()
        total = 0
        with_formulas: set[str] = set()
        for info in infos:
            if not info.filename.endswith((".xml", ".rels", ".vml")):
                continue
            look = info.filename.startswith("xl/worksheets/")
            needle = _FORMULA_END
            try:
                with archive.open(info) as part:
                    tail = b""
                    while chunk := part.read(_CHUNK):
                        total += len(chunk)
                        if total > max_uncompressed:
                            raise _zip_bomb()
                        raw = tail + chunk
                        if look:
                            if not tail and b":worksheet" in chunk[:4096]:
                                needle = _FORMULA_END_PREFIXED
                            # (A one-byte search is memchr, many times faster than one for a
                            # needle whose first byte, `<`, begins every tag; both needles hold
                            # an `f`, and a sheet's data rarely does.)
                            if b"f" in raw and needle in raw:
                                with_formulas.add(info.filename)
                                look = False
                        # Every declaration starts `<!` (in UTF-16 `<\0!`): only a chunk that has
                        # a `!` is searched for one, and only one that has one is lowered and
                        # searched word by word.
                        if (
                            b"!" in raw
                            and (b"<!" in raw or b"<\x00!" in raw)
                            and any(w in raw.lower() for w in _FORBIDDEN_XML + _FORBIDDEN_XML_WIDE)
                        ):
                            raise FileError(
                                "xml_entity",
                                "Excel 文件含有 XML 实体声明（DOCTYPE/ENTITY），已拒绝",
                                "the Excel file declares XML entities (DOCTYPE/ENTITY) and was refused",
                            )
                        tail = chunk[-32:]
            except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, NotImplementedError):
                raise _broken_xlsx() from None
        return with_formulas


@dataclass
class _Sheet:
    """The chosen sheet of a checked workbook: its rows as calamine reads them, and the part
    of the archive to look for formulas in (None: the sheet has none)."""

    name: str
    rows: list[list[Any]]
    start_row: int
    start_col: int
    formula_part: str | None

    def iter_rows(self) -> Iterator[tuple[str, list[Any]]]:
        name, first = self.name, self.start_row + 1
        pad = [None] * self.start_col
        for index, cells in enumerate(self.rows):
            # (calamine's own lists, not copied when the sheet starts at column A)
            yield f"{name}!{first + index}", pad + cells if pad else cells


def _unknown_sheet(sheet: str, names: list[str]) -> FileError:
    from engine.validate import mask_id_like  # (engine.validate imports this module)

    asked = mask_id_like(sheet[:40])
    listed = [mask_id_like(n) for n in names[:30]]
    return FileError(
        "sheet",
        f"找不到工作表“{asked}”；文件中的工作表：{'、'.join(listed)}",
        f"no sheet named {asked!r}; the workbook's sheets are: {', '.join(listed)}",
    )


def _xlsx_sheet(stream: IO[bytes], sheet: str | None, max_bytes: int) -> _Sheet:
    from python_calamine import CalamineWorkbook

    with_formulas = check_xlsx(stream, max_bytes=max_bytes)
    stream.seek(0)
    try:
        book = CalamineWorkbook.from_filelike(stream)
        names = list(book.sheet_names)
        if not names:
            raise FileError("empty", "Excel 文件没有工作表", "the Excel file has no sheet")
        if sheet:
            if sheet not in names:
                raise _unknown_sheet(sheet, names)
            data = book.get_sheet_by_name(sheet)
        else:
            # The first sheet that holds anything: a blank 说明 or Sheet1 in front is common.
            # (Each sheet is parsed as it is fetched: fetch each once.)
            data = book.get_sheet_by_index(0)
            for index in range(1, len(names)):
                if data.height:
                    break
                candidate = book.get_sheet_by_index(index)
                if candidate.height:
                    data = candidate
        name = data.name
        start_row = (data.start or (0, 0))[0] if data.height else 0
        start_col = (data.start or (0, 0))[1] if data.height else 0
        rows = data.to_python(skip_empty_area=True)
    except FileError:
        raise
    except Exception as exc:  # calamine raises its own types for XML/zip damage
        raise _broken_xlsx() from exc
    part: str | None = None
    if with_formulas:
        stream.seek(0)
        part = _sheet_parts(stream).get(name)
        if part is None:  # formulas somewhere, and no telling whether in this sheet
            raise _unplaceable_formulas()
        if part not in with_formulas:
            part = None
    return _Sheet(name, rows, start_row, start_col, part)


def _unplaceable_formulas() -> FileError:
    return FileError(
        "formula",
        "Excel 文件含有无法定位的公式：请将数据“选择性粘贴为数值”后重新上传",
        "the Excel file holds formulas that cannot be located: paste the data as values and upload again",
    )


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _sheet_parts(stream: IO[bytes]) -> dict[str, str]:
    """Sheet name → its part in the archive (`xl/worksheets/sheet1.xml`), from workbook.xml
    and its relationships. Both were checked for DTDs, so ElementTree expands nothing."""
    try:
        with zipfile.ZipFile(stream) as archive:
            book = ElementTree.fromstring(archive.read("xl/workbook.xml"))  # noqa: S314  (no DTD: checked)
            rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))  # noqa: S314
    except (KeyError, zipfile.BadZipFile, ElementTree.ParseError, OSError):
        return {}
    targets = {rel.get("Id"): rel.get("Target", "") for rel in rels.iter() if _local(rel.tag) == "Relationship"}
    parts: dict[str, str] = {}
    for element in book.iter():
        if _local(element.tag) != "sheet":
            continue
        rel_id = next((v for k, v in element.attrib.items() if k.startswith("{") and _local(k) == "id"), None)
        target = targets.get(rel_id)
        if target:
            path = target.lstrip("/") if target.startswith("/") else posixpath.join("xl", target)
            parts[element.get("name", "")] = posixpath.normpath(path)
    return parts


def _column_index(letters: bytes) -> int:
    index = 0
    for letter in letters:
        index = index * 26 + letter - 64
    return index - 1


def _sheet_row(line: str) -> int:
    """The 0-based sheet row of a line label `Sheet1!12`."""
    return int(line.rpartition("!")[2]) - 1


def _formula_cells(stream: IO[bytes], part: str, columns: set[int], below: int) -> dict[int, dict[int, str]]:
    """Row → {column → formula text} of the formula cells of `part` in `columns` below the
    sheet row `below` (0-based), read from the XML: calamine reports only cached values.

    The part is streamed with an overlap between blocks, so a cell cut by a block boundary is
    read whole in the next one. A formula is found by its own element and its cell by the tag
    just before it: the cells without formulas (most of them) cost nothing but the scan."""
    found: dict[int, dict[int, str]] = {}
    shared: dict[bytes, str] = {}
    stream.seek(0)
    with zipfile.ZipFile(stream) as archive, archive.open(part) as xml:
        carry, lead = b"", 0  # `lead` bytes of the carry were read already: the cell tags before
        while True:
            chunk = xml.read(_CHUNK)
            buffer = carry + chunk
            final = not chunk
            cutoff = len(buffer) if final else max(len(buffer) - _FORMULA_OVERLAP, lead)
            for match in _FORMULA_OPEN.finditer(buffer, lead):
                start = match.start()
                if start >= cutoff:  # (not endpos: a match across it would be lost to both reads)
                    break
                cell = _CELL_TAG.search(buffer, max(buffer.rfind(b"<", 0, start), 0), start)
                ref = _CELL_REF.search(cell[1]) if cell is not None else None
                if ref is None:
                    raise _unplaceable_formulas()
                column = _column_index(ref[1])
                row = int(ref[2]) - 1
                close = buffer.index(b">", start)
                attributes = buffer[match.end() - 1 : close]
                text = ""
                if buffer[close - 1 : close] != b"/":
                    end = buffer.index(b"<", close)
                    text = html.unescape(buffer[close + 1 : end].decode("utf-8", "replace"))
                index = _SHARED_INDEX.search(attributes)
                if index is not None:
                    text = shared.setdefault(index[1], text) if text else shared.get(index[1], "")
                if column in columns and row > below:
                    found.setdefault(row, {})[column] = "=" + text if text else ""
            if final:
                return found
            lead = min(cutoff, _CELL_TAG_MAX)
            carry = buffer[cutoff - lead :]


def _with_formulas(
    rows: Iterator[tuple[str, list[Any]]], formulas: dict[int, dict[int, str]], sheet: str
) -> Iterator[tuple[str, list[Any]]]:
    """The rows with their formula cells as `Formula`; rows holding nothing but formulas
    without a computed value, which calamine leaves out at the end, come last."""
    for line, cells in rows:
        here = formulas.pop(_sheet_row(line), None)
        if here:
            cells = _place(cells, here)
        yield line, cells
    for row in sorted(formulas):
        yield f"{sheet}!{row + 1}", _place([], formulas[row])


def _place(cells: list[Any], formulas: dict[int, str]) -> list[Any]:
    cells = list(cells)
    width = max(formulas) + 1
    if len(cells) < width:
        cells.extend([None] * (width - len(cells)))
    for column, text in formulas.items():
        cached = cells[column]
        cells[column] = Formula(text, None if cached == "" else cached)
    return cells


# -- header -----------------------------------------------------------------------------------


def _lookup(schema: TableSchema) -> dict[str, str]:
    lookup: dict[str, str] = {}
    for column in schema.columns:
        for header in column.headers:
            lookup.setdefault(normalize_header(header), column.name)
    return lookup


def _match_row(cells: list[Any], lookup: Mapping[str, str]) -> dict[int, str]:
    matched: dict[int, str] = {}
    seen: set[str] = set()
    for i, cell in enumerate(cells):
        name = lookup.get(normalize_header(cell)) if not _blank(cell) else None
        if name and name not in seen:
            matched[i] = name
            seen.add(name)
    return matched


def find_header(rows: list[list[Any]] | list[tuple[str, list[Any]]], schemas: Iterable[TableSchema]) -> HeaderMatch:
    """The best header among the first rows over all schemas.

    A row's score is the number of distinct columns it names. A header split over two rows
    (a group title merged over several columns, with the column names below; or a column
    name merged down two rows) is joined: positions left unnamed by the best row are taken
    from the row just above or below it. A header lacking a required column is an error
    naming the column; no plausible header at all is an error too.
    """
    cells_of = [r[1] if isinstance(r, tuple) else r for r in rows]
    best: HeaderMatch | None = None
    for schema in schemas:
        lookup = _lookup(schema)
        matches = [_match_row(list(cells), lookup) for cells in cells_of]
        for i, found in enumerate(matches):
            if not found:
                continue
            positions = dict(found)
            last, used = i, [i]
            for j in (i - 1, i + 1):
                if not 0 <= j < len(matches):
                    continue
                # Join a neighbour's names only where this row says nothing (a merged cell) or
                # something that is no column (a group title over merged columns).
                joined = {p: n for p, n in matches[j].items() if p not in found and n not in positions.values()}
                if joined:
                    positions.update(joined)
                    last = max(last, j)
                    used.append(j)
            missing = [c for c in schema.required if c.name not in positions.values()]
            candidate = HeaderMatch(
                schema, last, dict(sorted(positions.items())), missing_required=missing, header_rows=sorted(used)
            )
            if best is None or _rank(candidate) > _rank(best):
                best = candidate
    if best is None or best.score < 2:
        raise FileError(
            "no_header",
            "未找到表头：前20行中没有与模板列名相符的行，请使用下载的模板",
            "no header found: none of the first 20 rows matches the template's column names",
        )
    if best.missing_required:
        labels = "、".join(c.label for c in best.missing_required)
        names = ", ".join(c.name for c in best.missing_required)
        raise FileError("missing_column", f"缺少必填列：{labels}", f"missing required column(s): {names}")
    extra: dict[int, str] = {}
    for r in best.header_rows:
        for p, cell in enumerate(cells_of[r]):
            if p not in best.positions and not _blank(cell):
                extra.setdefault(p, normalize_text(cell))
    best.extra = [extra[p] for p in sorted(extra)]
    return best


def _rank(match: HeaderMatch) -> tuple[int, int, float, int]:
    # Complete headers first, then the most columns named, then the larger share of the schema
    # (so a 10-column file is not taken for the 32-column kind it half resembles), then earlier.
    share = match.score / len(match.schema.columns)
    return (0 if match.missing_required else 1, match.score, share, -match.row_index)
