//! Huge images in bounded memory: a PNG, a TIFF in strips or tiles, or a sequential JPEG,
//! larger than its grid is read a row (a strip, a row of tiles, a scanline) at a time, from a
//! file or from memory, each row turned into luminance (and alpha) and area-averaged straight
//! onto the grid, so neither the decoded image nor its full-size luminance plane is ever held.
//! Peak memory follows the grid, not the image. Interlaced PNGs, planar TIFFs, TIFFs in one
//! huge strip and progressive JPEGs (`jpeg.rs`) are decoded whole as before.
//!
//! The arithmetic is the luminance and resample kernels' (`shaders/luminance.wgsl`,
//! `shaders/resample.wgsl` and their CPU twins), with the box filter applied across each row
//! first and then down: the same weights, summed in another order, so the grid agrees with
//! the in-memory path to float rounding.

use std::fs::File;
use std::io::{BufReader, Cursor, Read, Seek};
use std::path::Path;

use crate::cpu::luminance::REC709;
use crate::cpu::resample::{axis_span, axis_weight};
use crate::decode::{DecodeLimits, check_dimensions};
use crate::error::{EngineError, Result};
use crate::stages::Plane;

mod jpeg;

/// What rows are read from: a file, or an encoded image in memory (a worker's upload).
pub trait Stream: std::io::BufRead + Seek + Send {}

impl<T: std::io::BufRead + Seek + Send> Stream for T {}

type Boxed<'a> = Box<dyn Stream + 'a>;

/// An image opened for reading a row at a time, its header read.
pub struct Rows<'a> {
    reader: Reader<'a>,
    width: u32,
    height: u32,
    channels: u32,
    /// Samples are floats in the image's own units (not scaled to 0..1).
    float: bool,
}

enum Reader<'a> {
    Png {
        reader: Box<png::Reader<Boxed<'a>>>,
        sixteen: bool,
    },
    /// A TIFF in strips, or tiles, `chunk` pixels wide and high: the current band of chunks
    /// side by side (one strip, or a row of tiles) decoded into `band` as floats.
    Tiff {
        decoder: Box<tiff::decoder::Decoder<Boxed<'a>>>,
        chunk: [u32; 2],
        band: Vec<f32>,
        at: Option<u32>,
    },
    /// A sequential JPEG, a scanline at a time.
    Jpeg(Box<jpeg::Jpeg<'a>>),
}

/// Opens `path` for reading a row at a time when it is a non-interlaced PNG, a TIFF in chunky
/// strips or tiles of 8- or 16-bit integers or 32-bit floats, or a sequential JPEG in one
/// scan; `None` for anything else (decoded whole, as before).
pub fn open<'a>(path: &Path, limits: DecodeLimits) -> Result<Option<Rows<'a>>> {
    let file = File::open(path).map_err(EngineError::ReadInput)?;
    open_stream(Box::new(BufReader::with_capacity(1 << 16, file)), limits)
}

/// [`open`] for an encoded image in memory.
pub fn open_bytes(bytes: &[u8], limits: DecodeLimits) -> Result<Option<Rows<'_>>> {
    open_stream(Box::new(Cursor::new(bytes)), limits)
}

fn open_stream(mut stream: Boxed<'_>, limits: DecodeLimits) -> Result<Option<Rows<'_>>> {
    let mut signature = [0u8; 8];
    if stream.read_exact(&mut signature).is_err() {
        return Ok(None);
    }
    stream.rewind().map_err(EngineError::ReadInput)?;
    if signature == [0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a] {
        open_png(stream, limits)
    } else if signature[..4] == *b"II*\0" || signature[..4] == *b"MM\0*" {
        open_tiff(stream, limits)
    } else if signature[..3] == [0xff, 0xd8, 0xff] {
        jpeg::open(stream, limits)
    } else {
        Ok(None)
    }
}

fn open_png(file: Boxed<'_>, limits: DecodeLimits) -> Result<Option<Rows<'_>>> {
    let mut decoder = png::Decoder::new(file);
    // Palettes, low bit depths and tRNS become plain 8-bit channels; 16 bits stay 16.
    decoder.set_transformations(png::Transformations::EXPAND);
    let corrupt = |e: png::DecodingError| EngineError::CorruptImage(format!("PNG: {e}"));
    let reader = decoder.read_info().map_err(corrupt)?;
    let info = reader.info();
    let (width, height) = (info.width, info.height);
    check_dimensions(width, height, limits)?;
    if info.interlaced {
        return Ok(None);
    }
    let (color, depth) = reader.output_color_type();
    let channels = match color {
        png::ColorType::Grayscale => 1,
        png::ColorType::GrayscaleAlpha => 2,
        png::ColorType::Rgb => 3,
        png::ColorType::Rgba => 4,
        png::ColorType::Indexed => return Ok(None),
    };
    let sixteen = depth == png::BitDepth::Sixteen;
    Ok(Some(Rows {
        reader: Reader::Png { reader: Box::new(reader), sixteen },
        width,
        height,
        channels,
        float: false,
    }))
}

fn open_tiff(file: Boxed<'_>, limits: DecodeLimits) -> Result<Option<Rows<'_>>> {
    use tiff::ColorType;
    use tiff::decoder::{ChunkType, Decoder, Limits};
    let corrupt = |e: tiff::TiffError| EngineError::CorruptImage(format!("TIFF: {e}"));
    let mut decoder = Decoder::new(file).map_err(corrupt)?;
    let (width, height) = decoder.dimensions().map_err(corrupt)?;
    check_dimensions(width, height, limits)?;
    let (channels, depth) = match decoder.colortype().map_err(corrupt)? {
        ColorType::Gray(d) => (1, d),
        ColorType::GrayA(d) => (2, d),
        ColorType::RGB(d) => (3, d),
        ColorType::RGBA(d) => (4, d),
        _ => return Ok(None),
    };
    if !matches!(depth, 8 | 16 | 32) {
        return Ok(None);
    }
    let (across, high) = decoder.chunk_dimensions();
    let (across, high) = (across.clamp(1, width), high.clamp(1, height));
    // A band as floats: one that would not fit the decode budget (an image in one strip)
    // gains nothing, and is decoded whole under its own limits.
    let band_bytes = u64::from(high) * u64::from(width) * u64::from(channels) * 4;
    if band_bytes > limits.max_alloc_bytes {
        return Ok(None);
    }
    // Planar images have a chunk per channel: read those whole.
    let chunks = match decoder.get_chunk_type() {
        ChunkType::Strip => decoder.strip_count(),
        ChunkType::Tile => decoder.tile_count(),
    };
    match chunks {
        Ok(n)
            if u64::from(n)
                == u64::from(width.div_ceil(across)) * u64::from(height.div_ceil(high)) => {}
        _ => return Ok(None),
    }
    let mut tiff_limits = Limits::default();
    tiff_limits.decoding_buffer_size = limits.max_alloc_bytes as usize;
    tiff_limits.intermediate_buffer_size = limits.max_alloc_bytes as usize;
    let decoder = decoder.with_limits(tiff_limits);
    let chunk = [across, high];
    let reader = Reader::Tiff { decoder: Box::new(decoder), chunk, band: Vec::new(), at: None };
    Ok(Some(Rows { reader, width, height, channels, float: depth == 32 }))
}

impl Reader<'_> {
    /// Row `y` (rows come in order) as interleaved samples: integers scaled to 0..1, floats
    /// as they are with NaN read as 0, as [`crate::SourceImage::rows`] reads them.
    fn row(&mut self, y: u32, width: usize, channels: usize, out: &mut [f32]) -> Result<()> {
        let n = width * channels;
        match self {
            Reader::Png { reader, sixteen } => {
                let corrupt =
                    |e: png::DecodingError| EngineError::CorruptImage(format!("PNG: {e}"));
                let row = reader.next_row().map_err(corrupt)?.ok_or_else(|| {
                    EngineError::CorruptImage(format!("PNG: the image data ends at row {y}"))
                })?;
                let data = row.data();
                if *sixteen {
                    for (o, b) in out[..n].iter_mut().zip(data.chunks_exact(2)) {
                        *o = f32::from(u16::from_be_bytes([b[0], b[1]])) * (1.0 / 65535.0);
                    }
                } else {
                    for (o, b) in out[..n].iter_mut().zip(data) {
                        *o = f32::from(*b) * (1.0 / 255.0);
                    }
                }
            }
            Reader::Tiff { decoder, chunk: [cw, ch], band, at } => {
                let index = y / *ch;
                if *at != Some(index) {
                    read_band(decoder, [*cw, *ch], index, width, channels, band)?;
                    *at = Some(index);
                }
                let start = (y - index * *ch) as usize * n;
                let samples = band.get(start..start + n).ok_or_else(|| {
                    EngineError::CorruptImage(format!(
                        "TIFF: chunk row {index} is short at row {y}"
                    ))
                })?;
                out[..n].copy_from_slice(samples);
            }
            Reader::Jpeg(jpeg) => jpeg.row(y, &mut out[..n])?,
        }
        Ok(())
    }
}

/// Band `index` of a TIFF in `chunk`-sized strips or tiles (numbered across, then down): its
/// chunks decoded and laid side by side into `band`, `width` pixels of `channels` floats a row.
fn read_band(
    decoder: &mut tiff::decoder::Decoder<Boxed<'_>>,
    [cw, ch]: [u32; 2],
    index: u32,
    width: usize,
    channels: usize,
    band: &mut Vec<f32>,
) -> Result<()> {
    use tiff::decoder::DecodingResult;
    let corrupt = |e: tiff::TiffError| EngineError::CorruptImage(format!("TIFF: {e}"));
    let across = (width as u32).div_ceil(cw);
    band.clear();
    band.resize(ch as usize * width * channels, 0.0);
    let mut samples = Vec::new();
    for i in 0..across {
        let chunk = index * across + i;
        let (w, h) = decoder.chunk_data_dimensions(chunk);
        samples.clear();
        match decoder.read_chunk(chunk).map_err(corrupt)? {
            DecodingResult::U8(d) => {
                samples.extend(d.iter().map(|&v| f32::from(v) * (1.0 / 255.0)))
            }
            DecodingResult::U16(d) => {
                samples.extend(d.iter().map(|&v| f32::from(v) * (1.0 / 65535.0)))
            }
            DecodingResult::F32(d) => {
                samples.extend(d.iter().map(|&v| if v.is_nan() { 0.0 } else { v }))
            }
            _ => {
                return Err(EngineError::UnsupportedFormat(
                    "TIFF: a sample type other than 8- or 16-bit integers or 32-bit floats".into(),
                ));
            }
        }
        let (w, h) = (w as usize, (h as usize).min(ch as usize));
        let x0 = (i * cw) as usize;
        if samples.len() < w * h * channels || x0 + w > width {
            return Err(EngineError::CorruptImage(format!("TIFF: chunk {chunk} is short")));
        }
        for (r, row) in samples.chunks_exact(w * channels).take(h).enumerate() {
            let start = (r * width + x0) * channels;
            band[start..start + w * channels].copy_from_slice(row);
        }
    }
    Ok(())
}

/// One axis of the area average: per output index, its first source index and weights.
struct Axis {
    spans: Vec<(u32, Vec<f32>)>,
}

impl Axis {
    fn new(out: u32, src: u32) -> Self {
        let scale = ((f64::from(src) - 1.0) / (f64::from(out) - 1.0)) as f32;
        let spans = (0..out)
            .map(|i| {
                let x = i as f32 * scale;
                let (lo, hi) = axis_span(x, scale, src);
                (lo as u32, (lo..=hi).map(|k| axis_weight(k, x, scale)).collect())
            })
            .collect();
        Self { spans }
    }
}

impl Rows<'_> {
    pub fn width(&self) -> u32 {
        self.width
    }

    pub fn height(&self) -> u32 {
        self.height
    }

    pub fn has_alpha(&self) -> bool {
        self.channels == 2 || self.channels == 4
    }

    /// Whether its samples are floats in their own units, which levels stretch to 0..1.
    pub fn is_float(&self) -> bool {
        self.float
    }

    /// Luminance, and alpha when `want_alpha`, area-averaged onto a `gw` x `gh` grid.
    pub fn resample(
        mut self,
        gw: u32,
        gh: u32,
        want_alpha: bool,
        check_canceled: &dyn Fn() -> Result<()>,
    ) -> Result<(Plane, Option<Plane>)> {
        let (w, h, channels) = (self.width as usize, self.height, self.channels as usize);
        let across = Axis::new(gw, self.width);
        let down = Axis::new(gh, self.height);
        // Which output rows each source row feeds: the rows whose span holds it.
        let mut feeds: Vec<Vec<(u32, f32)>> = vec![Vec::new(); h as usize];
        for (j, (lo, weights)) in down.spans.iter().enumerate() {
            for (k, weight) in weights.iter().enumerate() {
                feeds[*lo as usize + k].push((j as u32, *weight));
            }
        }
        let plane = || Plane { width: gw, height: gh, data: vec![0.0; gw as usize * gh as usize] };
        let mut luma = plane();
        let mut alpha = want_alpha.then(plane);
        let mut norm = vec![0.0f32; gh as usize];
        let mut values = vec![0.0f32; w];
        let mut opacity = vec![1.0f32; w];
        let mut row_luma = vec![0.0f32; gw as usize];
        let mut row_alpha = vec![0.0f32; gw as usize];
        let mut samples = vec![0.0f32; w * channels];
        for y in 0..h {
            if y % 256 == 0 {
                check_canceled()?;
            }
            self.reader.row(y, w, channels, &mut samples)?;
            // A row that feeds no grid row (none, when shrinking) is read and dropped.
            let feeds = &feeds[y as usize];
            if feeds.is_empty() {
                continue;
            }
            for x in 0..w {
                let base = x * channels;
                values[x] = match channels {
                    1 | 2 => samples[base],
                    _ => {
                        REC709[0] * samples[base]
                            + REC709[1] * samples[base + 1]
                            + REC709[2] * samples[base + 2]
                    }
                };
                if channels == 2 || channels == 4 {
                    opacity[x] = samples[base + channels - 1];
                }
            }
            average_across(&across, &values, &mut row_luma);
            if want_alpha {
                average_across(&across, &opacity, &mut row_alpha);
            }
            for &(j, weight) in feeds {
                let start = j as usize * gw as usize;
                let out = &mut luma.data[start..start + gw as usize];
                out.iter_mut().zip(&row_luma).for_each(|(o, v)| *o += weight * v);
                if let Some(alpha) = alpha.as_mut() {
                    let out = &mut alpha.data[start..start + gw as usize];
                    out.iter_mut().zip(&row_alpha).for_each(|(o, v)| *o += weight * v);
                }
                norm[j as usize] += weight;
            }
        }
        for plane in std::iter::once(&mut luma).chain(alpha.as_mut()) {
            for (row, norm) in plane.data.chunks_mut(gw as usize).zip(&norm) {
                row.iter_mut().for_each(|v| *v /= norm);
            }
        }
        Ok((luma, alpha))
    }
}

/// `values` area-averaged across onto `out` by `axis`.
fn average_across(axis: &Axis, values: &[f32], out: &mut [f32]) {
    for (o, (lo, weights)) in out.iter_mut().zip(&axis.spans) {
        let source = &values[*lo as usize..*lo as usize + weights.len()];
        let (sum, norm) =
            source.iter().zip(weights).fold((0.0, 0.0), |(s, n), (v, w)| (s + w * v, n + w));
        *o = sum / norm;
    }
}
