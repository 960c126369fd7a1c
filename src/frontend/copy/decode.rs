//! COPY FROM STDIN's input: the byte stream of the client's CopyData
//! messages cut into rows and fields by PostgreSQL's rules for the text,
//! CSV and binary formats.
//!
//! CopyData boundaries mean nothing (psql sends a line per message,
//! psycopg fills 32 KiB buffers, a binary tuple can straddle two), so the
//! decoder keeps only the unconsumed tail of what it was fed: at most one
//! incomplete row, bounded by [`MAX_ROW`]. Each complete row is decoded into
//! one reused buffer (escapes and quotes resolved) with each field's span,
//! and handed out until the next call.

use super::options::{CopyOptions, Format, Header};
use crate::frontend::errors::{BAD_COPY_FILE_FORMAT, PROGRAM_LIMIT_EXCEEDED};

/// PostgreSQL's ceiling for one line (its `MaxAllocSize`).
pub(crate) const MAX_ROW: usize = (1 << 30) - 1;

const BINARY_SIGNATURE: &[u8; 11] = b"PGCOPY\n\xff\r\n\0";

/// Input PostgreSQL refuses, with the line it was found on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct InputError {
    pub sqlstate: &'static str,
    pub message: String,
    pub hint: Option<&'static str>,
    pub line: u64,
    /// The line's text, which PostgreSQL's CONTEXT quotes (text and CSV).
    pub text: Option<String>,
}

/// One decoded row: field `i` is `None` for NULL, else its bytes.
pub(crate) struct Row<'a> {
    pub line: u64,
    values: &'a [u8],
    fields: &'a [Option<(usize, usize)>],
}

impl Row<'_> {
    pub fn field(&self, i: usize) -> Option<&[u8]> {
        self.fields[i].map(|(a, b)| &self.values[a..b])
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Binary: the signature, flags and header extension are next.
    BinaryHeader,
    /// Text or CSV: the header line is next.
    HeaderLine,
    Rows,
    /// After `\.` or the binary trailer.
    Ended,
}

pub(crate) struct Decoder {
    options: CopyOptions,
    /// The target columns' names, for messages and `HEADER MATCH`.
    columns: Vec<String>,
    force_not_null: Vec<bool>,
    force_null: Vec<bool>,
    input: Vec<u8>,
    /// `input[start..]` is not consumed yet.
    start: usize,
    line: u64,
    scan: LineScan,
    stage: Stage,
    values: Vec<u8>,
    fields: Vec<Option<(usize, usize)>>,
}

impl Decoder {
    pub fn new(options: CopyOptions, columns: Vec<String>) -> Decoder {
        let force_not_null = options.force_not_null.flags(&columns);
        let force_null = options.force_null.flags(&columns);
        let stage = match (options.format, options.header) {
            (Format::Binary, _) => Stage::BinaryHeader,
            (_, Header::Absent) => Stage::Rows,
            _ => Stage::HeaderLine,
        };
        Decoder {
            options,
            columns,
            force_not_null,
            force_null,
            input: Vec::new(),
            start: 0,
            line: 0,
            scan: LineScan::default(),
            stage,
            values: Vec::new(),
            fields: Vec::new(),
        }
    }

    /// Appends a CopyData message's bytes.
    pub fn feed(&mut self, data: &[u8]) {
        if self.stage == Stage::Ended && self.options.format != Format::Binary {
            return; // PostgreSQL ignores what follows `\.`
        }
        if self.start > 0 {
            self.input.drain(..self.start);
            self.start = 0;
        }
        self.input.extend_from_slice(data);
    }

    /// The next complete row, if the input holds one. `at_end`: the client
    /// sent CopyDone, so a last line without its newline is a row and an
    /// incomplete binary tuple an error.
    pub fn next_row(&mut self, at_end: bool) -> Result<Option<Row<'_>>, InputError> {
        let found = match self.options.format {
            Format::Binary => self.next_binary(at_end)?,
            _ => self.next_line(at_end)?,
        };
        if !found {
            if self.input.len() - self.start > MAX_ROW {
                return Err(self.error(PROGRAM_LIMIT_EXCEEDED, "COPY row is too long".into()));
            }
            return Ok(None);
        }
        Ok(Some(Row {
            line: self.line,
            values: &self.values,
            fields: &self.fields,
        }))
    }

    fn error(&self, sqlstate: &'static str, message: String) -> InputError {
        InputError {
            sqlstate,
            message,
            hint: None,
            line: self.line,
            text: None,
        }
    }

    /// Text and CSV: decodes the next line that is a row into `fields`.
    fn next_line(&mut self, at_end: bool) -> Result<bool, InputError> {
        loop {
            if self.stage == Stage::Ended {
                return Ok(false);
            }
            let rest = &self.input[self.start..];
            let csv = self.options.format == Format::Csv;
            let (len, consumed) = match line_end(rest, csv, &self.options, &mut self.scan) {
                Some(nl) => (nl, nl + 1),
                None if at_end && !rest.is_empty() => {
                    if csv && self.scan.in_quotes {
                        self.line += 1;
                        return Err(self
                            .error(BAD_COPY_FILE_FORMAT, "unterminated CSV quoted field".into()));
                    }
                    (rest.len(), rest.len())
                }
                None => return Ok(false),
            };
            let from = self.start;
            self.start += consumed;
            self.scan = LineScan::default();
            self.line += 1;
            let mut end = from + len;
            if end > from && self.input[end - 1] == b'\r' {
                end -= 1; // CRLF
            }
            let line = std::mem::take(&mut self.input);
            let r = self.decode_line(&line[from..end]);
            self.input = line;
            match r {
                Ok(true) => return Ok(true),
                Ok(false) => continue,
                Err(mut e) => {
                    e.text = Some(String::from_utf8_lossy(&self.input[from..end]).into_owned());
                    return Err(e);
                }
            }
        }
    }

    /// One line: `Ok(false)` when it is no row (the header, `\.`).
    fn decode_line(&mut self, line: &[u8]) -> Result<bool, InputError> {
        if line == b"\\." {
            self.stage = Stage::Ended;
            return Ok(false);
        }
        match self.options.format {
            Format::Csv => self.split_csv(line)?,
            _ => self.split_text(line)?,
        }
        if self.stage == Stage::HeaderLine {
            self.stage = Stage::Rows;
            if self.options.header == Header::Match {
                self.match_header()?;
            }
            return Ok(false);
        }
        if self.fields.len() > self.columns.len() {
            return Err(self.error(
                BAD_COPY_FILE_FORMAT,
                "extra data after last expected column".into(),
            ));
        }
        if let Some(missing) = self.columns.get(self.fields.len()) {
            return Err(self.error(
                BAD_COPY_FILE_FORMAT,
                format!("missing data for column \"{missing}\""),
            ));
        }
        if self.options.format == Format::Csv {
            for i in 0..self.fields.len() {
                if self.force_not_null[i] && self.fields[i].is_none() {
                    // PostgreSQL reads the NULL marker as the value then.
                    let at = self.values.len();
                    self.values.extend_from_slice(self.options.null.as_bytes());
                    self.fields[i] = Some((at, self.values.len()));
                } else if self.force_null[i]
                    && let Some((a, b)) = self.fields[i]
                    && self.values[a..b] == *self.options.null.as_bytes()
                {
                    self.fields[i] = None;
                }
            }
        }
        Ok(true)
    }

    fn match_header(&self) -> Result<(), InputError> {
        if self.fields.len() != self.columns.len() {
            return Err(self.error(
                BAD_COPY_FILE_FORMAT,
                format!(
                    "wrong number of fields in header line: got {}, expected {}",
                    self.fields.len(),
                    self.columns.len()
                ),
            ));
        }
        for (i, want) in self.columns.iter().enumerate() {
            let got = self.fields[i].map(|(a, b)| String::from_utf8_lossy(&self.values[a..b]));
            let message = match got {
                None => format!(
                    "column name mismatch in header line field {}: got null value (\"{}\"), expected \"{want}\"",
                    i + 1,
                    self.options.null
                ),
                Some(g) if g != *want => format!(
                    "column name mismatch in header line field {}: got \"{g}\", expected \"{want}\"",
                    i + 1
                ),
                Some(_) => continue,
            };
            return Err(self.error(BAD_COPY_FILE_FORMAT, message));
        }
        Ok(())
    }

    /// The text format: fields split at the delimiter, backslash escapes
    /// resolved; a field spelled as the NULL marker (before unescaping) is NULL.
    fn split_text(&mut self, line: &[u8]) -> Result<(), InputError> {
        self.values.clear();
        self.fields.clear();
        let delim = self.options.delimiter;
        let null = self.options.null.as_bytes();
        let mut i = 0;
        loop {
            let raw_start = i;
            let at = self.values.len();
            while i < line.len() && line[i] != delim {
                let run = line[i..]
                    .iter()
                    .position(|&c| c == delim || c == b'\\' || c == b'\r')
                    .map_or(line.len(), |p| i + p);
                self.values.extend_from_slice(&line[i..run]);
                i = run;
                match line.get(i) {
                    Some(b'\\') => i = unescape(line, i + 1, &mut self.values),
                    Some(b'\r') => {
                        return Err(InputError {
                            hint: Some("Use \"\\r\" to represent carriage return."),
                            ..self.error(
                                BAD_COPY_FILE_FORMAT,
                                "literal carriage return found in data".into(),
                            )
                        });
                    }
                    _ => {}
                }
            }
            let raw = &line[raw_start..i];
            self.fields.push(if raw == null {
                self.values.truncate(at);
                None
            } else {
                Some((at, self.values.len()))
            });
            if i >= line.len() {
                return Ok(());
            }
            i += 1;
        }
    }

    /// CSV: fields split at the delimiter outside quotes; inside quotes the
    /// escape character escapes the quote (and itself). An unquoted field
    /// spelled as the NULL marker is NULL.
    fn split_csv(&mut self, line: &[u8]) -> Result<(), InputError> {
        self.values.clear();
        self.fields.clear();
        let CopyOptions {
            delimiter: delim,
            quote,
            escape,
            ..
        } = self.options;
        let null = self.options.null.as_bytes();
        let mut i = 0;
        loop {
            let raw_start = i;
            let at = self.values.len();
            let mut quoted = false;
            while i < line.len() && line[i] != delim {
                let c = line[i];
                if c == quote {
                    quoted = true;
                    i += 1;
                    loop {
                        let Some(&c) = line.get(i) else {
                            return Err(self.error(
                                BAD_COPY_FILE_FORMAT,
                                "unterminated CSV quoted field".into(),
                            ));
                        };
                        let next = line.get(i + 1).copied();
                        if c == escape && (next == Some(quote) || (next == Some(escape))) {
                            self.values.push(next.expect("checked"));
                            i += 2;
                        } else if c == quote {
                            i += 1;
                            break;
                        } else {
                            self.values.push(c);
                            i += 1;
                        }
                    }
                } else if c == b'\r' {
                    return Err(InputError {
                        hint: Some("Use quoted CSV field to represent carriage return."),
                        ..self.error(
                            BAD_COPY_FILE_FORMAT,
                            "unquoted carriage return found in data".into(),
                        )
                    });
                } else {
                    self.values.push(c);
                    i += 1;
                }
            }
            let raw = &line[raw_start..i];
            self.fields.push(if !quoted && raw == null {
                self.values.truncate(at);
                None
            } else {
                Some((at, self.values.len()))
            });
            if i >= line.len() {
                return Ok(());
            }
            i += 1;
        }
    }

    /// The binary format: the header once, then one tuple (field count,
    /// then length-prefixed fields, -1 for NULL) per call; -1 ends the data.
    fn next_binary(&mut self, at_end: bool) -> Result<bool, InputError> {
        let rest = &self.input[self.start..];
        let eof =
            |d: &Decoder| Err(d.error(BAD_COPY_FILE_FORMAT, "unexpected EOF in COPY data".into()));
        if self.stage == Stage::BinaryHeader {
            if rest.len() < 19 {
                if at_end || (rest.len() >= 11 && rest[..11] != *BINARY_SIGNATURE) {
                    return Err(self.error(
                        BAD_COPY_FILE_FORMAT,
                        "COPY file signature not recognized".into(),
                    ));
                }
                return Ok(false);
            }
            if rest[..11] != *BINARY_SIGNATURE {
                return Err(self.error(
                    BAD_COPY_FILE_FORMAT,
                    "COPY file signature not recognized".into(),
                ));
            }
            let flags = u32::from_be_bytes(rest[11..15].try_into().expect("4 bytes"));
            if flags & (1 << 16) != 0 {
                return Err(self.error(
                    BAD_COPY_FILE_FORMAT,
                    "invalid COPY file header (WITH OIDS)".into(),
                ));
            }
            if flags >> 16 != 0 {
                return Err(self.error(
                    BAD_COPY_FILE_FORMAT,
                    "unrecognized critical flags in COPY file header".into(),
                ));
            }
            let ext = i32::from_be_bytes(rest[15..19].try_into().expect("4 bytes"));
            let Ok(ext) = usize::try_from(ext) else {
                return Err(self.error(
                    BAD_COPY_FILE_FORMAT,
                    "invalid COPY file header (missing length)".into(),
                ));
            };
            if rest.len() < 19 + ext {
                return if at_end { eof(self) } else { Ok(false) };
            }
            self.start += 19 + ext;
            self.stage = Stage::Rows;
            return self.next_binary(at_end);
        }
        if self.stage == Stage::Ended {
            if !rest.is_empty() {
                return Err(self.error(
                    BAD_COPY_FILE_FORMAT,
                    "received copy data after EOF marker".into(),
                ));
            }
            return Ok(false);
        }
        if rest.is_empty() {
            return Ok(false); // PostgreSQL accepts data without the trailer
        }
        let Some(count) = rest.get(..2) else {
            return if at_end { eof(self) } else { Ok(false) };
        };
        let count = i16::from_be_bytes(count.try_into().expect("2 bytes"));
        if count == -1 {
            self.start += 2;
            self.stage = Stage::Ended;
            return self.next_binary(at_end);
        }
        self.line += 1;
        if count as isize != self.columns.len() as isize {
            return Err(self.error(
                BAD_COPY_FILE_FORMAT,
                format!(
                    "row field count is {count}, expected {}",
                    self.columns.len()
                ),
            ));
        }
        // Walk the tuple first: nothing is consumed until all of it is here.
        let mut spans = Vec::with_capacity(self.columns.len());
        let mut at = 2usize;
        for _ in 0..count {
            let Some(len) = rest.get(at..at + 4) else {
                self.line -= 1;
                return if at_end { eof(self) } else { Ok(false) };
            };
            let len = i32::from_be_bytes(len.try_into().expect("4 bytes"));
            at += 4;
            if len == -1 {
                spans.push(None);
                continue;
            }
            let Ok(len) = usize::try_from(len) else {
                return Err(self.error(BAD_COPY_FILE_FORMAT, "invalid field size".into()));
            };
            if rest.len() < at + len {
                self.line -= 1;
                return if at_end { eof(self) } else { Ok(false) };
            }
            spans.push(Some((at, at + len)));
            at += len;
        }
        self.values.clear();
        self.values.extend_from_slice(&rest[..at]);
        self.fields.clear();
        self.fields.extend(spans);
        self.start += at;
        Ok(true)
    }
}

/// How far the current line has been scanned for its end: a line that
/// arrives in many CopyData messages is scanned once, not once a message.
#[derive(Debug, Default, Clone, Copy)]
struct LineScan {
    /// Offset (from the line's start) scanning resumes at.
    pos: usize,
    /// CSV: inside a quoted field there.
    in_quotes: bool,
}

/// Where the current line ends (its `\n`), if the input holds all of it,
/// resuming `scan`. Text: a newline after a backslash is data. CSV: a
/// newline inside quotes is data.
fn line_end(rest: &[u8], csv: bool, o: &CopyOptions, scan: &mut LineScan) -> Option<usize> {
    if !csv {
        let mut from = scan.pos;
        loop {
            let Some(p) = rest[from..].iter().position(|&c| c == b'\n') else {
                scan.pos = rest.len();
                return None;
            };
            let nl = from + p;
            let backslashes = rest[..nl].iter().rev().take_while(|&&c| c == b'\\').count();
            if backslashes % 2 == 0 {
                return Some(nl);
            }
            from = nl + 1;
        }
    }
    let mut i = scan.pos;
    let mut in_quotes = scan.in_quotes;
    while i < rest.len() {
        let c = rest[i];
        if in_quotes && c == o.escape && o.escape != o.quote {
            let Some(&next) = rest.get(i + 1) else {
                break; // what it escapes has not arrived yet
            };
            if next == o.quote || next == o.escape {
                i += 2;
                continue;
            }
        }
        if c == o.quote {
            in_quotes = !in_quotes;
        } else if c == b'\n' && !in_quotes {
            return Some(i);
        }
        i += 1;
    }
    *scan = LineScan { pos: i, in_quotes };
    None
}

/// Resolves the escape after a backslash at `line[i - 1]`; returns where
/// the field goes on.
fn unescape(line: &[u8], mut i: usize, out: &mut Vec<u8>) -> usize {
    let Some(&c) = line.get(i) else {
        out.push(b'\\');
        return i;
    };
    i += 1;
    match c {
        b'b' => out.push(8),
        b'f' => out.push(12),
        b'n' => out.push(b'\n'),
        b'r' => out.push(b'\r'),
        b't' => out.push(b'\t'),
        b'v' => out.push(11),
        b'0'..=b'7' => {
            let mut v = (c - b'0') as u32;
            for _ in 0..2 {
                match line.get(i) {
                    Some(d @ b'0'..=b'7') => {
                        v = v * 8 + (d - b'0') as u32;
                        i += 1;
                    }
                    _ => break,
                }
            }
            out.push((v & 0xff) as u8);
        }
        b'x' if line.get(i).is_some_and(u8::is_ascii_hexdigit) => {
            let mut v = 0u32;
            for _ in 0..2 {
                match line.get(i).and_then(|d| (*d as char).to_digit(16)) {
                    Some(d) => {
                        v = v * 16 + d;
                        i += 1;
                    }
                    None => break,
                }
            }
            out.push(v as u8);
        }
        other => out.push(other),
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frontend::copy::statement::parse;

    fn decoder(options: &str, columns: &[&str]) -> Decoder {
        let o = parse(&format!("COPY t FROM STDIN {options}"))
            .unwrap()
            .options;
        Decoder::new(o, columns.iter().map(|c| c.to_string()).collect())
    }

    /// A row as the tests compare it: its line and its fields.
    type Line = (u64, Vec<Option<String>>);

    /// Every row of `chunks`, fed one by one, then CopyDone.
    fn rows(d: &mut Decoder, chunks: &[&[u8]]) -> Result<Vec<Line>, InputError> {
        let mut out = Vec::new();
        let mut take = |d: &mut Decoder, at_end| -> Result<(), InputError> {
            while let Some(r) = d.next_row(at_end)? {
                let n = r.fields.len();
                out.push((
                    r.line,
                    (0..n)
                        .map(|i| r.field(i).map(|f| String::from_utf8_lossy(f).into_owned()))
                        .collect(),
                ));
            }
            Ok(())
        };
        for c in chunks {
            d.feed(c);
            take(d, false)?;
        }
        take(d, true)?;
        Ok(out)
    }

    fn s(v: &str) -> Option<String> {
        Some(v.to_owned())
    }

    #[test]
    fn text_rows_with_escapes_nulls_and_split_lines() {
        let mut d = decoder("", &["a", "b"]);
        let got = rows(
            &mut d,
            &[
                b"1\tx\\ty\n2\t\\N\n3\ta\\\\b\\",
                b"\nc\\101\\x41\r\n4\t",
                b"last",
            ],
        )
        .unwrap();
        assert_eq!(
            got,
            vec![
                (1, vec![s("1"), s("x\ty")]),
                (2, vec![s("2"), None]),
                (3, vec![s("3"), s("a\\b\ncAA")]),
                (4, vec![s("4"), s("last")]),
            ]
        );
    }

    #[test]
    fn text_header_end_marker_and_null_string() {
        let mut d = decoder("(DELIMITER ',', NULL '', HEADER)", &["a", "b"]);
        let got = rows(&mut d, &[b"a,b\n1,\n\\.\nignored,after\n"]).unwrap();
        assert_eq!(got, vec![(2, vec![s("1"), None])]);
    }

    #[test]
    fn text_rows_of_the_wrong_width_name_their_line() {
        let mut d = decoder("", &["a", "b"]);
        let e = rows(&mut d, &[b"1\t2\n3\n"]).unwrap_err();
        assert_eq!((e.sqlstate, e.line), ("22P04", 2));
        assert_eq!(e.message, "missing data for column \"b\"");
        assert_eq!(e.text.as_deref(), Some("3"));
        let mut d = decoder("", &["a"]);
        let e = rows(&mut d, &[b"1\t2\n"]).unwrap_err();
        assert_eq!(e.message, "extra data after last expected column");
        let mut d = decoder("", &["a"]);
        assert_eq!(
            rows(&mut d, &[b"a\rb\n"]).unwrap_err().message,
            "literal carriage return found in data"
        );
    }

    #[test]
    fn csv_quotes_newlines_and_nulls() {
        let mut d = decoder("(FORMAT csv)", &["a", "b", "c"]);
        let got = rows(
            &mut d,
            &[b"1,\"x,\"\"y\"\"\",\n2,\"multi", b"\nline\",\"\"\n"],
        )
        .unwrap();
        assert_eq!(
            got,
            vec![
                (1, vec![s("1"), s("x,\"y\""), None]),
                (2, vec![s("2"), s("multi\nline"), s("")]),
            ]
        );
        let mut d = decoder(
            "(FORMAT csv, ESCAPE '\\', FORCE_NULL (b), FORCE_NOT_NULL (a))",
            &["a", "b"],
        );
        let got = rows(&mut d, &[b",\"\"\n\"q\\\"\",x\n"]).unwrap();
        assert_eq!(
            got,
            vec![(1, vec![s(""), None]), (2, vec![s("q\""), s("x")])]
        );
        let mut d = decoder("(FORMAT csv)", &["a"]);
        let e = rows(&mut d, &[b"1\n\"open\n"]).unwrap_err();
        assert_eq!(
            (e.message.as_str(), e.line),
            ("unterminated CSV quoted field", 2)
        );
    }

    #[test]
    fn a_long_line_in_tiny_messages_is_scanned_once() {
        // Quadratic rescanning would take minutes here.
        let value = "x\\\"".repeat(100_000);
        let csv = format!("1,\"{}\"\n", value.replace('"', "\"\""));
        let mut d = decoder("(FORMAT csv)", &["a", "b"]);
        let chunks: Vec<&[u8]> = csv.as_bytes().chunks(3).collect();
        let got = rows(&mut d, &chunks).unwrap();
        assert_eq!(got, vec![(1, vec![s("1"), s(&value)])]);
        let text = format!("1\t{}\n", "y\\\\".repeat(100_000));
        let mut d = decoder("", &["a", "b"]);
        let chunks: Vec<&[u8]> = text.as_bytes().chunks(3).collect();
        let got = rows(&mut d, &chunks).unwrap();
        assert_eq!(got[0].1[1].as_deref(), Some("y\\".repeat(100_000).as_str()));
        let mut d = decoder("(FORMAT csv, ESCAPE '\\')", &["a"]);
        let got = rows(&mut d, &[b"\"a\\", b"\"b\"\n"]).unwrap();
        assert_eq!(got, vec![(1, vec![s("a\"b")])]);
    }

    #[test]
    fn header_match_checks_the_names() {
        let mut d = decoder("(FORMAT csv, HEADER match)", &["a", "b"]);
        assert_eq!(rows(&mut d, &[b"a,b\n1,2\n"]).unwrap().len(), 1);
        let mut d = decoder("(FORMAT csv, HEADER match)", &["a", "b"]);
        let e = rows(&mut d, &[b"a,c\n"]).unwrap_err();
        assert_eq!(
            e.message,
            "column name mismatch in header line field 2: got \"c\", expected \"b\""
        );
    }

    fn binary_input(rows: &[&[Option<&[u8]>]]) -> Vec<u8> {
        let mut b = BINARY_SIGNATURE.to_vec();
        b.extend_from_slice(&0i32.to_be_bytes());
        b.extend_from_slice(&4i32.to_be_bytes());
        b.extend_from_slice(b"ext!");
        for r in rows {
            b.extend_from_slice(&(r.len() as i16).to_be_bytes());
            for f in *r {
                match f {
                    None => b.extend_from_slice(&(-1i32).to_be_bytes()),
                    Some(v) => {
                        b.extend_from_slice(&(v.len() as i32).to_be_bytes());
                        b.extend_from_slice(v);
                    }
                }
            }
        }
        b.extend_from_slice(&(-1i16).to_be_bytes());
        b
    }

    #[test]
    fn binary_tuples_in_any_chunking() {
        let input = binary_input(&[&[Some(b"\0\0\0\x01"), None], &[Some(b""), Some(b"xyz")]]);
        let mut d = decoder("(FORMAT binary)", &["a", "b"]);
        let chunks: Vec<&[u8]> = input.chunks(3).collect();
        let got = rows(&mut d, &chunks).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0], (1, vec![s("\0\0\0\x01"), None]));
        assert_eq!(got[1], (2, vec![s(""), s("xyz")]));
    }

    #[test]
    fn binary_input_postgresql_refuses() {
        let mut d = decoder("(FORMAT binary)", &["a"]);
        let e = rows(&mut d, &[b"PGCOPY\nXXXXXXXXXXXXXXXXXXX"]).unwrap_err();
        assert_eq!(e.message, "COPY file signature not recognized");
        let input = binary_input(&[&[None, None]]);
        let mut d = decoder("(FORMAT binary)", &["a"]);
        assert_eq!(
            rows(&mut d, &[&input]).unwrap_err().message,
            "row field count is 2, expected 1"
        );
        let input = binary_input(&[&[Some(b"abcd")]]);
        let mut d = decoder("(FORMAT binary)", &["a"]);
        let cut = &input[..input.len() - 4];
        assert_eq!(
            rows(&mut d, &[cut]).unwrap_err().message,
            "unexpected EOF in COPY data"
        );
        let mut d = decoder("(FORMAT binary)", &["a"]);
        let mut extra = input.clone();
        extra.push(0);
        assert_eq!(
            rows(&mut d, &[&extra]).unwrap_err().message,
            "received copy data after EOF marker"
        );
    }
}
