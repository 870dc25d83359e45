//! Baseline JPEGs a scanline at a time, through libjpeg-turbo (as MozJPEG, the `mozjpeg`
//! crate). A sequential JPEG in one interleaved scan is decoded a row of blocks at a time;
//! progressive, multi-scan, lossless and arithmetic-coded JPEGs need whole-image coefficient
//! buffers, so those are decoded whole as before, under the decode limits.
//!
//! libjpeg reports errors by unwinding out of the C library (the crate's error manager);
//! they are caught here and become corrupt-image errors. A file that ends early is one too:
//! libjpeg alone would invent an end and fill the rest with grey.

use std::io::{self, BufRead, Read, Seek, SeekFrom};
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};

use mozjpeg::decompress::DecompressStarted;

use super::{Boxed, Reader, Rows};
use crate::decode::{DecodeLimits, check_dimensions};
use crate::error::{EngineError, Result};

/// An open JPEG and its current scanline.
pub(super) struct Jpeg<'a> {
    decoder: DecompressStarted<Watched<Boxed<'a>>>,
    row: Vec<u8>,
    dry: Arc<AtomicBool>,
}

/// Opens a JPEG for reading a scanline at a time when it is sequential in one scan and in
/// grey, YCbCr or RGB; `None` for anything else.
pub(super) fn open(mut stream: Boxed<'_>, limits: DecodeLimits) -> Result<Option<Rows<'_>>> {
    let one_scan = one_interleaved_scan(&mut stream);
    stream.rewind().map_err(EngineError::ReadInput)?;
    if !one_scan {
        return Ok(None);
    }
    let dry = Arc::new(AtomicBool::new(false));
    let watched = Watched { inner: stream, dry: dry.clone() };
    let header = guarded(&dry, || mozjpeg::Decompress::new_reader(watched))?;
    let (width, height) = header.size();
    check_dimensions(width as u32, height as u32, limits)?;
    let channels = match header.color_space() {
        mozjpeg::ColorSpace::JCS_GRAYSCALE => 1,
        mozjpeg::ColorSpace::JCS_YCbCr | mozjpeg::ColorSpace::JCS_RGB => 3,
        _ => return Ok(None),
    };
    let decoder = guarded(&dry, || if channels == 1 { header.grayscale() } else { header.rgb() })?;
    let row = vec![0u8; width * channels];
    Ok(Some(Rows {
        reader: Reader::Jpeg(Box::new(Jpeg { decoder, row, dry })),
        width: width as u32,
        height: height as u32,
        channels: channels as u32,
        float: false,
    }))
}

impl Jpeg<'_> {
    /// The next scanline, row `y`, as samples scaled to 0..1.
    pub(super) fn row(&mut self, y: u32, out: &mut [f32]) -> Result<()> {
        let Jpeg { decoder, row, dry } = self;
        guarded(dry, || decoder.read_scanlines_into(row).map(|_| ())).map_err(|e| match e {
            EngineError::CorruptImage(why) => {
                EngineError::CorruptImage(format!("{why} (at row {y})"))
            }
            other => other,
        })?;
        for (o, &b) in out.iter_mut().zip(row.iter()) {
            *o = f32::from(b) * (1.0 / 255.0);
        }
        Ok(())
    }
}

/// Runs `f` on libjpeg: its errors, and a stream that ran dry, become corrupt-image errors.
fn guarded<T>(dry: &AtomicBool, f: impl FnOnce() -> io::Result<T>) -> Result<T> {
    let outcome = std::panic::catch_unwind(AssertUnwindSafe(f));
    if dry.load(Relaxed) {
        return Err(EngineError::CorruptImage(
            "JPEG: the file ends before its image data does; it may have been cut short".into(),
        ));
    }
    let why = match outcome {
        Ok(Ok(value)) => return Ok(value),
        Ok(Err(e)) => e.to_string(),
        Err(unwound) => unwound
            .downcast_ref::<String>()
            .map(|s| s.trim_start_matches("libjpeg fatal error: ").to_owned())
            .unwrap_or_else(|| "the decoder failed".into()),
    };
    Err(EngineError::CorruptImage(format!("JPEG: {why}")))
}

/// A stream that says when it runs dry, as an error rather than an end, so that libjpeg
/// stops instead of inventing an end.
struct Watched<R> {
    inner: R,
    dry: Arc<AtomicBool>,
}

impl<R: Read> Read for Watched<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf)
    }
}

impl<R: BufRead> BufRead for Watched<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        let buf = self.inner.fill_buf()?;
        if buf.is_empty() {
            self.dry.store(true, Relaxed);
            return Err(io::Error::new(io::ErrorKind::InvalidData, "the file ends early"));
        }
        Ok(buf)
    }

    fn consume(&mut self, amount: usize) {
        self.inner.consume(amount);
    }
}

/// Whether the JPEG's frame is sequential Huffman (baseline or extended) and its first scan
/// holds every component, read from its markers. Anything unreadable is `false`, left to the
/// whole-image decoder to report.
fn one_interleaved_scan(stream: &mut Boxed<'_>) -> bool {
    let mut components = None;
    if (byte(stream), byte(stream)) != (Some(0xff), Some(0xd8)) {
        return false;
    }
    for _ in 0..10_000 {
        if byte(stream) != Some(0xff) {
            return false;
        }
        let mut marker = 0xff;
        while marker == 0xff {
            let Some(b) = byte(stream) else { return false };
            marker = b;
        }
        // Markers without a length.
        if matches!(marker, 0x01 | 0xd0..=0xd8) {
            continue;
        }
        let (Some(hi), Some(lo)) = (byte(stream), byte(stream)) else { return false };
        let length = i64::from(u16::from_be_bytes([hi, lo]));
        if length < 2 {
            return false;
        }
        match marker {
            // Sequential Huffman frames: precision, height, width, then components.
            0xc0 | 0xc1 => {
                for _ in 0..5 {
                    byte(stream);
                }
                components = byte(stream);
                if stream.seek(SeekFrom::Current(length - 8)).is_err() {
                    return false;
                }
            }
            // Any other frame: progressive, lossless, arithmetic or hierarchical.
            0xc2 | 0xc3 | 0xc5..=0xc7 | 0xc9..=0xcb | 0xcd..=0xcf => return false,
            0xda => return components.is_some() && byte(stream) == components,
            0xd9 => return false,
            _ => {
                if stream.seek(SeekFrom::Current(length - 2)).is_err() {
                    return false;
                }
            }
        }
    }
    false
}

fn byte(stream: &mut Boxed<'_>) -> Option<u8> {
    let mut b = [0u8; 1];
    stream.read_exact(&mut b).ok().map(|()| b[0])
}
