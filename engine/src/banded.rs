//! Huge images in bounded memory: a PNG larger than its grid is read a row at a time, each row
//! turned into luminance (and alpha) and area-averaged straight onto the grid, so neither the
//! decoded image nor its full-size luminance plane is ever held. Peak memory follows the grid,
//! not the image.
//!
//! The arithmetic is the luminance and resample kernels' (`shaders/luminance.wgsl`,
//! `shaders/resample.wgsl` and their CPU twins), with the box filter applied across each row
//! first and then down: the same weights, summed in another order, so the grid agrees with
//! the in-memory path to float rounding.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use crate::cpu::resample::{axis_span, axis_weight};
use crate::decode::{DecodeLimits, check_dimensions};
use crate::error::{EngineError, Result};
use crate::stages::Plane;

const REC709: [f32; 3] = [0.2126, 0.7152, 0.0722];

/// A PNG opened for reading row by row, its header read.
pub struct PngRows {
    reader: png::Reader<BufReader<File>>,
    width: u32,
    height: u32,
    channels: u32,
    sixteen: bool,
}

/// Opens `path` for banded reading when it is a non-interlaced PNG; `None` for anything else
/// (read whole, as before).
pub fn open_png(path: &Path, limits: DecodeLimits) -> Result<Option<PngRows>> {
    let mut file = File::open(path).map_err(EngineError::ReadInput)?;
    let mut signature = [0u8; 8];
    let is_png = std::io::Read::read_exact(&mut file, &mut signature).is_ok()
        && signature == [0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a];
    if !is_png {
        return Ok(None);
    }
    let file = File::open(path).map_err(EngineError::ReadInput)?;
    let mut decoder = png::Decoder::new(BufReader::with_capacity(1 << 16, file));
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
    Ok(Some(PngRows { reader, width, height, channels, sixteen }))
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

impl PngRows {
    pub fn width(&self) -> u32 {
        self.width
    }

    pub fn height(&self) -> u32 {
        self.height
    }

    pub fn has_alpha(&self) -> bool {
        self.channels == 2 || self.channels == 4
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
        let corrupt = |e: png::DecodingError| EngineError::CorruptImage(format!("PNG: {e}"));
        for y in 0..h {
            if y % 256 == 0 {
                check_canceled()?;
            }
            let row = self.reader.next_row().map_err(corrupt)?.ok_or_else(|| {
                EngineError::CorruptImage(format!("PNG: the image data ends at row {y} of {h}"))
            })?;
            let data = row.data();
            let sample = |i: usize| -> f32 {
                if self.sixteen {
                    f32::from(u16::from_be_bytes([data[2 * i], data[2 * i + 1]])) * (1.0 / 65535.0)
                } else {
                    f32::from(data[i]) * (1.0 / 255.0)
                }
            };
            for x in 0..w {
                let base = x * channels;
                values[x] = match channels {
                    1 | 2 => sample(base),
                    _ => {
                        REC709[0] * sample(base)
                            + REC709[1] * sample(base + 1)
                            + REC709[2] * sample(base + 2)
                    }
                };
                if channels == 2 || channels == 4 {
                    opacity[x] = sample(base + channels - 1);
                }
            }
            let feeds = &feeds[y as usize];
            if feeds.is_empty() {
                continue;
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
