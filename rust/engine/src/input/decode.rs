//! From the bytes of a file to UTF-8 text: gzip (by its magic bytes, several members), byte
//! order marks, UTF-16 transcoded as it streams.
//!
//! Nothing is replaced: bytes that are not valid UTF-16 become the byte 0xFF in the output,
//! which never occurs in UTF-8, so the record holding them fails UTF-8 validation and is
//! reported, with its position, as not valid UTF-16. Invalid UTF-8 passes through unchanged
//! for the same check.

use std::io::{self, Cursor, Read};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use encoding_rs::{DecoderResult, UTF_16BE, UTF_16LE};

/// The text encoding of a document, as its byte order mark says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TextEncoding {
    Utf8,
    Utf16Le,
    Utf16Be,
}

impl TextEncoding {
    pub fn name(self) -> &'static str {
        match self {
            TextEncoding::Utf8 => "UTF-8",
            TextEncoding::Utf16Le => "UTF-16 LE",
            TextEncoding::Utf16Be => "UTF-16 BE",
        }
    }

    /// How the document's own encoding is named in error messages.
    pub(crate) fn family(self) -> &'static str {
        match self {
            TextEncoding::Utf8 => "UTF-8",
            TextEncoding::Utf16Le | TextEncoding::Utf16Be => "UTF-16",
        }
    }
}

/// Written in place of every malformed UTF-16 sequence; never valid in UTF-8.
pub(crate) const MALFORMED_MARKER: u8 = 0xFF;

/// Counts the bytes taken from the underlying stream (the compressed bytes, for gzip), for
/// progress.
pub(crate) struct Counting {
    pub inner: Box<dyn Read + Send>,
    pub count: Arc<AtomicU64>,
}

impl Read for Counting {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Reads up to `want` bytes (fewer only at the end of the stream).
fn peek(reader: &mut dyn Read, want: usize) -> io::Result<Vec<u8>> {
    let mut prefix = vec![0u8; want];
    let mut filled = 0;
    while filled < want {
        match reader.read(&mut prefix[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    prefix.truncate(filled);
    Ok(prefix)
}

pub(crate) struct TextSource {
    inner: Box<dyn Read + Send>,
    encoding: TextEncoding,
    compressed: bool,
    utf16: Option<Utf16State>,
    finished: bool,
}

struct Utf16State {
    decoder: encoding_rs::Decoder,
    raw: Vec<u8>,
    start: usize,
    end: usize,
    eof: bool,
    /// The decoder has seen the last byte and must not be called again.
    done: bool,
}

impl TextSource {
    /// Looks at the first bytes: gzip magic, then the byte order mark of the (decompressed) text.
    pub fn new(mut reader: Box<dyn Read + Send>) -> io::Result<TextSource> {
        let magic = peek(&mut reader, 4)?;
        // A local file header, the end record of an empty archive, or a spanned archive.
        if matches!(magic.as_slice(), b"PK\x03\x04" | b"PK\x05\x06" | b"PK\x07\x08") {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "this is a zip archive, which is not read: extract the files from it first",
            ));
        }
        let compressed = magic.starts_with(&[0x1f, 0x8b]);
        let mut reader: Box<dyn Read + Send> = Box::new(Cursor::new(magic).chain(reader));
        if compressed {
            reader = Box::new(flate2::read::MultiGzDecoder::new(reader));
        }
        let head = peek(&mut reader, 3)?;
        let (encoding, bom_len) = if head.starts_with(&[0xEF, 0xBB, 0xBF]) {
            (TextEncoding::Utf8, 3)
        } else if head.starts_with(&[0xFF, 0xFE]) {
            (TextEncoding::Utf16Le, 2)
        } else if head.starts_with(&[0xFE, 0xFF]) {
            (TextEncoding::Utf16Be, 2)
        } else {
            (TextEncoding::Utf8, 0)
        };
        let rest = head[bom_len..].to_vec();
        let inner: Box<dyn Read + Send> = Box::new(Cursor::new(rest).chain(reader));
        let utf16 = match encoding {
            TextEncoding::Utf8 => None,
            TextEncoding::Utf16Le | TextEncoding::Utf16Be => {
                let codec = if encoding == TextEncoding::Utf16Le { UTF_16LE } else { UTF_16BE };
                Some(Utf16State {
                    decoder: codec.new_decoder_without_bom_handling(),
                    raw: vec![0u8; 64 * 1024],
                    start: 0,
                    end: 0,
                    eof: false,
                    done: false,
                })
            }
        };
        Ok(TextSource { inner, encoding, compressed, utf16, finished: false })
    }

    pub fn encoding(&self) -> TextEncoding {
        self.encoding
    }

    pub fn compressed(&self) -> bool {
        self.compressed
    }

    /// Fills the start of `out` with UTF-8 text; Ok(0) at the end. `out` should hold at
    /// least 8 bytes: UTF-16 needs room for a character and a marker.
    pub fn read_text(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.finished || out.is_empty() {
            return Ok(0);
        }
        let n = match self.utf16.as_mut() {
            None => loop {
                match self.inner.read(out) {
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    other => break other?,
                }
            },
            Some(state) => state.decode(&mut *self.inner, out)?,
        };
        if n == 0 {
            self.finished = true;
        }
        Ok(n)
    }
}

impl Utf16State {
    fn decode(&mut self, inner: &mut dyn Read, out: &mut [u8]) -> io::Result<usize> {
        let mut written = 0;
        // One byte is always kept for a marker.
        while !self.done && out.len() - written >= 5 {
            if self.start == self.end && !self.eof {
                self.start = 0;
                self.end = loop {
                    match inner.read(&mut self.raw) {
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                        other => break other?,
                    }
                };
                if self.end == 0 {
                    self.eof = true;
                }
            }
            let limit = out.len() - 1;
            let (result, read, n) =
                self.decoder.decode_to_utf8_without_replacement(&self.raw[self.start..self.end], &mut out[written..limit], self.eof);
            written += n;
            self.start += read;
            match result {
                DecoderResult::Malformed(_, _) => {
                    out[written] = MALFORMED_MARKER;
                    written += 1;
                    // The decoder is finished once it has seen the last byte.
                    self.done = self.eof && self.start == self.end;
                }
                DecoderResult::OutputFull => break,
                DecoderResult::InputEmpty => self.done = self.eof,
            }
        }
        Ok(written)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(bytes: Vec<u8>) -> (TextEncoding, Vec<u8>) {
        let mut source = TextSource::new(Box::new(Cursor::new(bytes))).unwrap();
        let mut out = Vec::new();
        let mut buf = [0u8; 8];
        loop {
            let n = source.read_text(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            out.extend_from_slice(&buf[..n]);
        }
        (source.encoding(), out)
    }

    #[test]
    fn boms_are_stripped_and_utf16_transcoded() {
        assert_eq!(decode_all(b"\xEF\xBB\xBF{}".to_vec()), (TextEncoding::Utf8, b"{}".to_vec()));
        assert_eq!(decode_all(b"{}".to_vec()), (TextEncoding::Utf8, b"{}".to_vec()));
        let le: Vec<u8> = [0xFF, 0xFE].into_iter().chain("{é}".encode_utf16().flat_map(|u| u.to_le_bytes())).collect();
        assert_eq!(decode_all(le), (TextEncoding::Utf16Le, "{é}".as_bytes().to_vec()));
        let be: Vec<u8> = [0xFE, 0xFF].into_iter().chain("{é}".encode_utf16().flat_map(|u| u.to_be_bytes())).collect();
        assert_eq!(decode_all(be), (TextEncoding::Utf16Be, "{é}".as_bytes().to_vec()));
        assert_eq!(decode_all(Vec::new()), (TextEncoding::Utf8, Vec::new()));
    }

    #[test]
    fn malformed_utf16_becomes_a_marker_not_a_replacement() {
        // An unpaired high surrogate between 'a' and 'b'.
        let mut le = vec![0xFF, 0xFE, b'a', 0, 0x00, 0xD8, b'b', 0];
        let (_, out) = decode_all(le.clone());
        assert_eq!(out, [b'a', MALFORMED_MARKER, b'b']);
        // An odd byte at the end.
        le.push(b'c');
        let (_, out) = decode_all(le);
        assert_eq!(out.last(), Some(&MALFORMED_MARKER));
    }
}
