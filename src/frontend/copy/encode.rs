//! COPY TO STDOUT's output: result rows in the text, CSV or binary format,
//! each value first written as its DataRow field would be (PostgreSQL's
//! text or binary form of the column's type), then escaped or quoted as
//! the format wants.

use bytes::{BufMut, BytesMut};

use super::options::{CopyOptions, Format};
use crate::bridge::marshal::Value;
use crate::frontend::columns::ResultColumn;
use crate::pgtypes::{self, ValueError};

const BINARY_HEADER: &[u8] = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0";

pub(crate) struct Encoder {
    options: CopyOptions,
    force_quote: Vec<bool>,
    /// One value's field, before escaping.
    field: BytesMut,
}

impl Encoder {
    /// `names`: the result columns, for `FORCE_QUOTE (a, b)`.
    pub fn new(options: CopyOptions, names: &[String]) -> Encoder {
        let force_quote = options.force_quote.flags(names);
        Encoder {
            options,
            force_quote,
            field: BytesMut::new(),
        }
    }

    /// What precedes the rows: the binary signature and header, or the
    /// header line of column names (`HEADER`); nothing otherwise.
    pub fn header(&self, out: &mut BytesMut, names: &[String]) {
        match self.options.format {
            Format::Binary => out.put_slice(BINARY_HEADER),
            _ if self.options.header == super::options::Header::Absent => {}
            format => {
                for (i, name) in names.iter().enumerate() {
                    if i > 0 {
                        out.put_u8(self.options.delimiter);
                    }
                    match format {
                        Format::Csv => self.put_csv(out, name.as_bytes(), false, names.len() == 1),
                        _ => self.put_text(out, name.as_bytes()),
                    }
                }
                out.put_u8(b'\n');
            }
        }
    }

    /// The binary format's trailer; nothing for text and CSV.
    pub fn trailer(&self, out: &mut BytesMut) {
        if self.options.format == Format::Binary {
            out.put_i16(-1);
        }
    }

    /// One row, typed by `cols`.
    pub fn row(
        &mut self,
        out: &mut BytesMut,
        row: &[Value<'_>],
        cols: &[ResultColumn],
    ) -> Result<(), ValueError> {
        let binary = self.options.format == Format::Binary;
        if binary {
            out.put_i16(row.len() as i16);
        }
        for (i, v) in row.iter().enumerate() {
            let (ty, scale) = cols
                .get(i)
                .map(|c| (&c.ty, c.scale))
                .unwrap_or((&pgwire::api::Type::TEXT, None));
            if binary {
                // A binary DataRow field is exactly a binary COPY field.
                pgtypes::encode_field(out, v, ty, scale, true)?;
                continue;
            }
            if i > 0 {
                out.put_u8(self.options.delimiter);
            }
            if let Value::Null = v {
                out.put_slice(self.options.null.as_bytes());
                continue;
            }
            self.field.clear();
            pgtypes::encode_field(&mut self.field, v, ty, scale, false)?;
            let field = std::mem::take(&mut self.field);
            let text = &field[4..];
            if self.options.format == Format::Csv {
                let forced = self.force_quote.get(i).copied().unwrap_or(false);
                self.put_csv(out, text, forced, row.len() == 1);
            } else {
                self.put_text(out, text);
            }
            self.field = field;
        }
        if !binary {
            out.put_u8(b'\n');
        }
        Ok(())
    }

    /// The text format: backslash, the delimiter and the control characters
    /// PostgreSQL names (`\n`, `\t`, ...) are escaped.
    fn put_text(&self, out: &mut BytesMut, text: &[u8]) {
        let delim = self.options.delimiter;
        let mut from = 0;
        for (i, &c) in text.iter().enumerate() {
            let escaped = match c {
                8 => b'b',
                12 => b'f',
                b'\n' => b'n',
                b'\r' => b'r',
                b'\t' => b't',
                11 => b'v',
                b'\\' => b'\\',
                _ if c == delim => c,
                _ => continue,
            };
            out.put_slice(&text[from..i]);
            out.put_u8(b'\\');
            out.put_u8(escaped);
            from = i + 1;
        }
        out.put_slice(&text[from..]);
    }

    /// CSV: quoted when asked to, when the value contains the delimiter,
    /// the quote, a newline or a carriage return, when it reads as the NULL
    /// marker, or when it is a lone `\.`; inside quotes the quote and the
    /// escape character are escaped.
    fn put_csv(&self, out: &mut BytesMut, text: &[u8], forced: bool, single: bool) {
        let CopyOptions {
            delimiter,
            quote,
            escape,
            ..
        } = self.options;
        let needs = forced
            || text == self.options.null.as_bytes()
            || (single && text == b"\\.")
            || text
                .iter()
                .any(|&c| c == delimiter || c == quote || c == b'\n' || c == b'\r');
        if !needs {
            out.put_slice(text);
            return;
        }
        out.put_u8(quote);
        for &c in text {
            if c == quote || c == escape {
                out.put_u8(escape);
            }
            out.put_u8(c);
        }
        out.put_u8(quote);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frontend::copy::statement::parse;
    use pgwire::api::Type;

    fn encoder(options: &str, names: &[&str]) -> (Encoder, Vec<String>) {
        let o = parse(&format!("COPY t TO STDOUT {options}"))
            .unwrap()
            .options;
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        (Encoder::new(o, &names), names)
    }

    fn cols(types: &[Type]) -> Vec<ResultColumn> {
        types
            .iter()
            .map(|t| ResultColumn {
                name: "c".into(),
                ty: t.clone(),
                scale: None,
            })
            .collect()
    }

    fn line(e: &mut Encoder, row: &[Value<'_>], types: &[Type]) -> String {
        let mut out = BytesMut::new();
        e.row(&mut out, row, &cols(types)).unwrap();
        String::from_utf8(out.to_vec()).unwrap()
    }

    #[test]
    fn text_escapes_and_nulls() {
        let (mut e, names) = encoder("", &["a", "b"]);
        let mut out = BytesMut::new();
        e.header(&mut out, &names);
        assert!(out.is_empty());
        assert_eq!(
            line(
                &mut e,
                &[Value::Str("x\ty\\z\n"), Value::Null],
                &[Type::TEXT, Type::TEXT]
            ),
            "x\\ty\\\\z\\n\t\\N\n"
        );
        assert_eq!(
            line(
                &mut e,
                &[Value::Int(1), Value::Bool(true)],
                &[Type::INT4, Type::BOOL]
            ),
            "1\tt\n"
        );
        let (mut e, names) = encoder("(DELIMITER '|', NULL '', HEADER)", &["a|b", "c"]);
        let mut out = BytesMut::new();
        e.header(&mut out, &names);
        assert_eq!(&out[..], b"a\\|b|c\n");
        assert_eq!(
            line(
                &mut e,
                &[Value::Str("p|q"), Value::Null],
                &[Type::TEXT, Type::TEXT]
            ),
            "p\\|q|\n"
        );
    }

    #[test]
    fn csv_quotes_what_needs_it() {
        let (mut e, names) = encoder("(FORMAT csv, HEADER)", &["a", "b", "c"]);
        let mut out = BytesMut::new();
        e.header(&mut out, &names);
        assert_eq!(&out[..], b"a,b,c\n");
        assert_eq!(
            line(
                &mut e,
                &[Value::Str("x,\"y\""), Value::Str(""), Value::Null],
                &[Type::TEXT, Type::TEXT, Type::TEXT]
            ),
            "\"x,\"\"y\"\"\",\"\",\n"
        );
        let (mut e, _) = encoder("(FORMAT csv, FORCE_QUOTE (b), ESCAPE '\\')", &["a", "b"]);
        assert_eq!(
            line(
                &mut e,
                &[Value::Int(1), Value::Str("q\"")],
                &[Type::INT4, Type::TEXT]
            ),
            "1,\"q\\\"\"\n"
        );
    }

    #[test]
    fn binary_rows_are_datarow_fields() {
        let (mut e, names) = encoder("(FORMAT binary)", &["a", "b"]);
        let mut out = BytesMut::new();
        e.header(&mut out, &names);
        e.row(
            &mut out,
            &[Value::Int(7), Value::Null],
            &cols(&[Type::INT4, Type::TEXT]),
        )
        .unwrap();
        e.trailer(&mut out);
        let mut want = BINARY_HEADER.to_vec();
        want.extend_from_slice(&2i16.to_be_bytes());
        want.extend_from_slice(&4i32.to_be_bytes());
        want.extend_from_slice(&7i32.to_be_bytes());
        want.extend_from_slice(&(-1i32).to_be_bytes());
        want.extend_from_slice(&(-1i16).to_be_bytes());
        assert_eq!(&out[..], &want[..]);
    }
}
