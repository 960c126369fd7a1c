//! Raw protocol bytes over a socket, for tests that must send what no
//! driver would.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// Connects and completes a trust login as `tester` on database `app`.
pub fn startup(port: u16) -> TcpStream {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let params = b"user\0tester\0database\0app\0\0";
    let mut msg = Vec::new();
    msg.extend_from_slice(&((8 + params.len()) as i32).to_be_bytes());
    msg.extend_from_slice(&196608i32.to_be_bytes());
    msg.extend_from_slice(params);
    s.write_all(&msg).unwrap();
    read_until_ready(&mut s);
    s
}

/// Reads backend messages until ReadyForQuery; returns the message types
/// seen and the SQLSTATEs of any ErrorResponse.
pub fn read_until_ready(s: &mut TcpStream) -> (Vec<u8>, Vec<String>) {
    let mut types = Vec::new();
    let mut codes = Vec::new();
    loop {
        let mut head = [0u8; 5];
        if s.read_exact(&mut head).is_err() {
            return (types, codes);
        }
        let len = u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
        let mut body = vec![0u8; len - 4];
        s.read_exact(&mut body).unwrap();
        types.push(head[0]);
        if head[0] == b'E' {
            let mut fields = body.split(|b| *b == 0);
            for f in fields.by_ref() {
                if f.first() == Some(&b'C') {
                    codes.push(String::from_utf8_lossy(&f[1..]).into_owned());
                }
            }
        }
        if head[0] == b'Z' {
            return (types, codes);
        }
    }
}

/// True when the server closed the connection (EOF or reset) in time.
pub fn closed(s: &mut TcpStream) -> bool {
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut =>
            {
                return false;
            }
            Err(_) => return true,
        }
    }
}

pub fn message(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut m = vec![tag];
    m.extend_from_slice(&((body.len() + 4) as i32).to_be_bytes());
    m.extend_from_slice(body);
    m
}
