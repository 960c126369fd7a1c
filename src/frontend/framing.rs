//! Splitting a client's byte stream into protocol messages, each decoded
//! from exactly its declared length.
//!
//! pgwire's decoder reads message bodies straight out of the socket's read
//! buffer, so a C string without its terminator inside the body (a NUL
//! inside a Query, or a Query missing its final NUL) is read on into the
//! next message: the bytes after the NUL then run as a message of their own.
//! PostgreSQL instead reads each message into a buffer of its declared
//! length and refuses one that is not consumed exactly (`08P01 invalid
//! message format`). This module does the same in front of pgwire:
//!
//! 1. the length word is checked against the limit of the connection's
//!    stage *before* anything is buffered (10,000 bytes before login, as
//!    PostgreSQL's `MAX_STARTUP_PACKET_LENGTH`; `server.max_message_size`
//!    after), so an unauthenticated client cannot make the server buffer
//!    a gigabyte;
//! 2. the message is split off into a buffer of its own, and its layout is
//!    walked field by field ([`check_layout`]): every string must end inside
//!    the body, every count must fit, and nothing may be left over;
//! 3. only then is pgwire's decoder run, on that buffer alone.
//!
//! The stage also bounds which messages are accepted: before login only
//! start-up, CancelRequest and password messages.

use bytes::BytesMut;
use pgwire::error::ErrorInfo;
use pgwire::messages::{DecodeContext, PgWireFrontendMessage, ProtocolVersion};
use thiserror::Error;

use crate::pgtypes::invalid_utf8;
use tokio::io::{AsyncRead, AsyncReadExt};

/// PostgreSQL's `MAX_STARTUP_PACKET_LENGTH`: the ceiling for every message a
/// client can send before it has authenticated.
pub const MAX_LOGIN_MESSAGE: usize = 10_000;

/// What the connection is waiting for, which decides both the message
/// layout (start-up packets have no type byte) and the size limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// The start-up packet or a CancelRequest (no type byte).
    Startup,
    /// A password, SASL initial response or SASL response (`p`).
    Authenticating,
    /// Logged in: the query protocols, COPY, Terminate.
    Ready,
}

/// A message that broke the framing rules. Every variant is a protocol
/// violation that ends the connection with `FATAL`, as in PostgreSQL.
#[derive(Debug, Error)]
pub enum FramingError {
    #[error("invalid length of startup packet")]
    StartupLength,
    #[error("invalid message length")]
    Length,
    #[error("message of {size} bytes exceeds server.max_message_size ({max} bytes)")]
    TooLarge { size: usize, max: usize },
    #[error("invalid frontend message type {0}")]
    UnknownType(u8),
    #[error("expected password response, got message type {0}")]
    NotAPassword(u8),
    #[error("invalid message format")]
    Layout,
    #[error("invalid string in message")]
    Unterminated,
    #[error("{0}")]
    Decode(String),
    #[error("connection lost: {0}")]
    Io(#[from] std::io::Error),
}

impl FramingError {
    /// The FATAL ErrorResponse sent before closing (none for a lost connection).
    pub fn fatal(&self) -> Option<ErrorInfo> {
        let code = match self {
            FramingError::Io(_) => return None,
            FramingError::TooLarge { .. } => crate::frontend::errors::PROGRAM_LIMIT_EXCEEDED,
            _ => crate::frontend::errors::PROTOCOL_VIOLATION,
        };
        Some(ErrorInfo::new(
            "FATAL".into(),
            code.into(),
            self.to_string(),
        ))
    }
}

/// One decoded client message, or an error that leaves the connection usable.
pub enum Inbound {
    Message(PgWireFrontendMessage),
    /// A well-framed message the server refuses (invalid UTF-8 in a query):
    /// answered with an ERROR, like any failed statement.
    Refused {
        error: Box<ErrorInfo>,
        /// Whether it was an extended-protocol message, so the connection
        /// skips to the next Sync.
        extended: bool,
    },
}

/// Reads messages off one connection with bounded buffering.
pub struct FrameReader {
    buf: BytesMut,
}

/// Capacity kept between messages; a buffer grown for one large message is
/// given back once that message is decoded.
const IDLE_CAPACITY: usize = 8 * 1024;

impl FrameReader {
    /// Starts with whatever bytes TLS negotiation already read off the socket.
    pub fn new(already_read: BytesMut) -> Self {
        FrameReader { buf: already_read }
    }

    /// The next message. Cancel-safe: bytes read so far stay buffered.
    pub async fn next<IO: AsyncRead + Unpin>(
        &mut self,
        io: &mut IO,
        stage: Stage,
        max_message: usize,
        protocol: ProtocolVersion,
    ) -> Result<Option<Inbound>, FramingError> {
        loop {
            if let Some(frame) = split_frame(&mut self.buf, stage, max_message)? {
                if self.buf.is_empty() && self.buf.capacity() > 4 * IDLE_CAPACITY {
                    self.buf = BytesMut::with_capacity(IDLE_CAPACITY);
                }
                return decode_frame(frame, stage, protocol).map(Some);
            }
            if self.buf.capacity() - self.buf.len() < 1024 {
                self.buf.reserve(IDLE_CAPACITY);
            }
            if io.read_buf(&mut self.buf).await? == 0 {
                return if self.buf.is_empty() {
                    Ok(None)
                } else {
                    Err(std::io::Error::from(std::io::ErrorKind::UnexpectedEof).into())
                };
            }
        }
    }
}

/// Splits one whole message (header included) off the front of `buf`, or
/// `None` when more bytes are needed. The declared length is checked before
/// anything is reserved, so memory follows the limit, not the claim.
pub fn split_frame(
    buf: &mut BytesMut,
    stage: Stage,
    max_message: usize,
) -> Result<Option<BytesMut>, FramingError> {
    let offset = usize::from(stage != Stage::Startup);
    if buf.len() < offset + 4 {
        return Ok(None);
    }
    if stage != Stage::Startup {
        let kind = buf[0];
        if stage == Stage::Authenticating && kind != b'p' {
            return Err(FramingError::NotAPassword(kind));
        }
        if !KNOWN_TYPES.contains(&kind) {
            return Err(FramingError::UnknownType(kind));
        }
    }
    let declared = i32::from_be_bytes(buf[offset..offset + 4].try_into().expect("4 bytes"));
    let len = usize::try_from(declared).unwrap_or(0);
    let (min, max) = match stage {
        Stage::Startup => (8, MAX_LOGIN_MESSAGE),
        Stage::Authenticating => (4, MAX_LOGIN_MESSAGE),
        Stage::Ready => (4, max_message),
    };
    if len < min {
        return Err(match stage {
            Stage::Startup => FramingError::StartupLength,
            _ => FramingError::Length,
        });
    }
    if len > max {
        return Err(match stage {
            Stage::Startup => FramingError::StartupLength,
            Stage::Authenticating => FramingError::Length,
            Stage::Ready => FramingError::TooLarge {
                size: len,
                max: max_message,
            },
        });
    }
    let total = offset + len;
    if buf.len() < total {
        buf.reserve(total - buf.len());
        return Ok(None);
    }
    Ok(Some(buf.split_to(total)))
}

/// Every message type a client may send after start-up.
const KNOWN_TYPES: &[u8] = b"QPBEDCHSXdcfFp";

/// Checks a whole frame's layout, then has pgwire decode it.
fn decode_frame(
    mut frame: BytesMut,
    stage: Stage,
    protocol: ProtocolVersion,
) -> Result<Inbound, FramingError> {
    if stage == Stage::Ready {
        let kind = frame[0];
        check_layout(kind, &frame[5..])?;
        if let Some(refused) = refuse_text(kind, &frame[5..]) {
            return Ok(refused);
        }
    }
    let mut ctx = DecodeContext::new(protocol);
    ctx.awaiting_frontend_ssl = false;
    ctx.awaiting_frontend_startup = stage == Stage::Startup;
    match PgWireFrontendMessage::decode(&mut frame, &ctx) {
        Ok(Some(msg)) if frame.is_empty() => Ok(Inbound::Message(msg)),
        // Start-up packets: pgwire stops at the terminating empty name, so
        // bytes after it, or a list without it, are left over.
        Ok(_) => Err(FramingError::Layout),
        Err(e) => Err(FramingError::Decode(e.to_string())),
    }
}

/// A cursor over one message body whose every read fails past the end.
struct Body<'a>(&'a [u8]);

impl<'a> Body<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], FramingError> {
        if self.0.len() < n {
            return Err(FramingError::Layout);
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }
    fn i16(&mut self) -> Result<i16, FramingError> {
        Ok(i16::from_be_bytes(self.take(2)?.try_into().expect("2")))
    }
    fn i32(&mut self) -> Result<i32, FramingError> {
        Ok(i32::from_be_bytes(self.take(4)?.try_into().expect("4")))
    }
    fn count(&mut self) -> Result<usize, FramingError> {
        usize::try_from(self.i16()?).map_err(|_| FramingError::Layout)
    }
    /// A NUL-terminated string, which must end inside the body.
    fn cstr(&mut self) -> Result<&'a [u8], FramingError> {
        let end = self
            .0
            .iter()
            .position(|&b| b == 0)
            .ok_or(FramingError::Unterminated)?;
        let s = &self.0[..end];
        self.0 = &self.0[end + 1..];
        Ok(s)
    }
    fn end(&self) -> Result<(), FramingError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(FramingError::Layout)
        }
    }
}

/// Walks a message body as the protocol lays it out (PostgreSQL's
/// `pq_getmsg*` sequence for each type), ending with `pq_getmsgend`'s check
/// that nothing is left over.
pub fn check_layout(kind: u8, body: &[u8]) -> Result<(), FramingError> {
    let mut b = Body(body);
    match kind {
        b'Q' | b'f' => {
            b.cstr()?;
        }
        b'P' => {
            b.cstr()?;
            b.cstr()?;
            let n = b.count()?;
            b.take(n.checked_mul(4).ok_or(FramingError::Layout)?)?;
        }
        b'B' => {
            b.cstr()?;
            b.cstr()?;
            let formats = b.count()?;
            b.take(formats * 2)?;
            for _ in 0..b.count()? {
                let len = b.i32()?;
                if len < -1 {
                    return Err(FramingError::Layout);
                }
                if len > 0 {
                    b.take(len as usize)?;
                }
            }
            let results = b.count()?;
            b.take(results * 2)?;
        }
        b'E' => {
            b.cstr()?;
            b.i32()?;
        }
        b'D' | b'C' => {
            let target = b.take(1)?[0];
            if target != b'S' && target != b'P' {
                return Err(FramingError::Layout);
            }
            b.cstr()?;
        }
        b'H' | b'S' | b'X' | b'c' => {}
        // CopyData is opaque; a function call is refused after framing.
        b'd' | b'F' => return Ok(()),
        // A password message after login.
        b'p' => return Err(FramingError::UnknownType(kind)),
        other => return Err(FramingError::UnknownType(other)),
    }
    b.end()
}

/// Messages framed correctly whose content the server refuses with an
/// ordinary ERROR: statement text that is not UTF-8 (PostgreSQL: 22021),
/// and the function-call sub-protocol, which iriswire does not offer.
fn refuse_text(kind: u8, body: &[u8]) -> Option<Inbound> {
    use crate::frontend::errors::{CHARACTER_NOT_IN_REPERTOIRE, FEATURE_NOT_SUPPORTED};
    let (code, message) = match kind {
        b'F' => (
            FEATURE_NOT_SUPPORTED,
            "the function call protocol is not supported".to_owned(),
        ),
        // The layout is already checked: the text ends at the final NUL.
        b'Q' => (
            CHARACTER_NOT_IN_REPERTOIRE,
            invalid_utf8(&body[..body.len() - 1])?,
        ),
        b'P' => {
            // The statement name and the query; the parameter OIDs after
            // them are binary.
            let mut b = Body(body);
            let (name, query) = (b.cstr().ok()?, b.cstr().ok()?);
            let message = invalid_utf8(name).or_else(|| invalid_utf8(query))?;
            (CHARACTER_NOT_IN_REPERTOIRE, message)
        }
        _ => return None,
    };
    Some(Inbound::Refused {
        error: Box::new(ErrorInfo::new("ERROR".into(), code.into(), message)),
        extended: kind != b'Q',
    })
}

/// Runs a raw client byte stream through framing and pgwire's decoders as
/// one connection would see it: a start-up packet, then (when it was one)
/// password messages while `authenticating` is set, then the query
/// protocols. Returns the number of messages decoded before the stream
/// ended or broke a rule. What the `frontend_stream` fuzz target drives:
/// any input may fail, none may panic.
pub fn replay(
    bytes: &[u8],
    authenticating: usize,
    max_message: usize,
) -> Result<usize, FramingError> {
    let mut buf = BytesMut::from(bytes);
    let mut stage = Stage::Startup;
    let mut passwords = 0;
    let mut n = 0;
    while let Some(frame) = split_frame(&mut buf, stage, max_message)? {
        let inbound = decode_frame(frame, stage, ProtocolVersion::default())?;
        n += 1;
        stage = match (stage, inbound) {
            (Stage::Startup, Inbound::Message(PgWireFrontendMessage::CancelRequest(_))) => {
                return Ok(n);
            }
            (Stage::Startup, _) if authenticating > 0 => Stage::Authenticating,
            (Stage::Authenticating, _) => {
                passwords += 1;
                if passwords < authenticating {
                    Stage::Authenticating
                } else {
                    Stage::Ready
                }
            }
            _ => Stage::Ready,
        };
    }
    Ok(n)
}

/// Splits and layout-checks every message of a logged-in stream.
#[cfg(test)]
fn frames(bytes: &[u8], stage: Stage, max_message: usize) -> Result<usize, FramingError> {
    let mut buf = BytesMut::from(bytes);
    let mut n = 0;
    while let Some(frame) = split_frame(&mut buf, stage, max_message)? {
        if stage == Stage::Ready {
            check_layout(frame[0], &frame[5..])?;
        }
        n += 1;
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(kind: u8, body: &[u8]) -> Vec<u8> {
        let mut v = vec![kind];
        v.extend_from_slice(&((body.len() + 4) as i32).to_be_bytes());
        v.extend_from_slice(body);
        v
    }

    #[test]
    fn a_nul_inside_a_query_is_a_layout_error_not_a_second_message() {
        // "select 1\0" followed, inside the same Query, by a smuggled Query.
        let mut body = b"select 1\0".to_vec();
        body.extend(msg(b'Q', b"drop table t\0"));
        let wire = msg(b'Q', &body);
        assert!(matches!(
            frames(&wire, Stage::Ready, 1 << 20),
            Err(FramingError::Layout)
        ));
    }

    #[test]
    fn a_query_without_its_terminator_does_not_read_into_the_next_message() {
        let mut wire = msg(b'Q', b"select 1");
        wire.extend(msg(b'Q', b"select 2\0"));
        assert!(matches!(
            frames(&wire, Stage::Ready, 1 << 20),
            Err(FramingError::Unterminated)
        ));
    }

    #[test]
    fn well_formed_extended_messages_pass() {
        let mut wire = msg(b'P', b"s1\0select $1\0\0\x01\0\0\0\x17");
        wire.extend(msg(
            b'B',
            b"\0s1\0\0\x01\0\x01\0\x01\0\0\0\x04\0\0\0\x07\0\x01\0\x01",
        ));
        wire.extend(msg(b'D', b"P\0"));
        wire.extend(msg(b'E', b"\0\0\0\0\0"));
        wire.extend(msg(b'S', b""));
        assert_eq!(frames(&wire, Stage::Ready, 1 << 20).unwrap(), 5);
    }

    #[test]
    fn bind_values_longer_than_the_body_are_refused() {
        let wire = msg(b'B', b"\0\0\0\0\0\x01\0\0\x10\0abc");
        assert!(matches!(
            frames(&wire, Stage::Ready, 1 << 20),
            Err(FramingError::Layout)
        ));
    }

    #[test]
    fn sizes_are_refused_before_buffering() {
        // A 1 GiB start-up packet header: refused from its first 4 bytes.
        let mut buf = BytesMut::from(&0x4000_0000i32.to_be_bytes()[..]);
        assert!(matches!(
            split_frame(&mut buf, Stage::Startup, 1 << 26),
            Err(FramingError::StartupLength)
        ));
        assert!(buf.capacity() < 1024);
        let mut buf = BytesMut::from(&msg(b'Q', &[b'x'; 100])[..5]);
        assert!(matches!(
            split_frame(&mut buf, Stage::Ready, 50),
            Err(FramingError::TooLarge { size: 104, max: 50 })
        ));
    }

    #[test]
    fn only_password_messages_before_login() {
        let wire = msg(b'Q', b"select 1\0");
        assert!(matches!(
            frames(&wire, Stage::Authenticating, 1 << 20),
            Err(FramingError::NotAPassword(b'Q'))
        ));
        let wire = msg(b'p', &[b'x'; MAX_LOGIN_MESSAGE]);
        assert!(matches!(
            frames(&wire, Stage::Authenticating, 1 << 30),
            Err(FramingError::Length)
        ));
    }

    #[test]
    fn unknown_types_and_negative_lengths_are_violations() {
        assert!(matches!(
            frames(&msg(b'Z', b""), Stage::Ready, 1 << 20),
            Err(FramingError::UnknownType(b'Z'))
        ));
        assert!(matches!(
            frames(b"Q\xff\xff\xff\xff", Stage::Ready, 1 << 20),
            Err(FramingError::Length)
        ));
    }

    #[test]
    fn a_whole_session_replays_from_start_up_to_sync() {
        let params = b"user\0u\0database\0d\0\0";
        let mut wire = ((8 + params.len()) as i32).to_be_bytes().to_vec();
        wire.extend(196608i32.to_be_bytes());
        wire.extend(params);
        wire.extend(msg(b'p', b"secret\0"));
        wire.extend(msg(b'Q', b"select 1\0"));
        wire.extend(msg(b'P', b"\0select 1\0\0\0"));
        wire.extend(msg(b'S', b""));
        assert_eq!(replay(&wire, 1, 1 << 20).unwrap(), 5);
        // A start-up packet whose parameter list lacks its terminator.
        let mut bad = 16i32.to_be_bytes().to_vec();
        bad.extend(196608i32.to_be_bytes());
        bad.extend(b"user\0u\0x");
        let r = replay(&bad, 0, 1 << 20);
        assert!(r.is_err(), "{r:?}");
    }
}
