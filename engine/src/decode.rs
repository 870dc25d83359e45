//! Decoding images with limits, and reading their pixels as normalised floats.
//!
//! The format is sniffed from the content, never from the file name. Dimensions are read from the
//! header and checked against the pixel cap before any pixel is decoded, and the decoder itself
//! runs under an allocation cap, so a decompression bomb is refused before memory is spent.
//! 16-bit and float images keep their precision: pixels are handed on as `f32`.

use std::io::{BufRead, Cursor, Seek};
use std::path::Path;

use image::{DynamicImage, ImageError, ImageFormat, ImageReader, error::LimitErrorKind};

use crate::error::{EngineError, Result};

/// How much an image may cost to decode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecodeLimits {
    /// Width times height.
    pub max_pixels: u64,
    /// Bytes the decoder may allocate.
    pub max_alloc_bytes: u64,
}

impl DecodeLimits {
    /// 2^28 pixels: 16384 x 16384.
    pub const DEFAULT_MAX_PIXELS: u64 = 1 << 28;
    /// 2 GiB: a full-size RGBA 8-bit image at the pixel cap, with room to spare.
    pub const DEFAULT_MAX_ALLOC: u64 = 2 << 30;
}

impl Default for DecodeLimits {
    fn default() -> Self {
        Self { max_pixels: Self::DEFAULT_MAX_PIXELS, max_alloc_bytes: Self::DEFAULT_MAX_ALLOC }
    }
}

/// Pixels as decoded: the `image` crate's buffers, plus 32-bit float grey, which it lacks.
#[derive(Clone, Debug)]
enum Pixels {
    Image(DynamicImage),
    GrayF32(Vec<f32>),
}

/// A decoded image, kept at its own bit depth.
#[derive(Clone, Debug)]
pub struct SourceImage {
    width: u32,
    height: u32,
    pixels: Pixels,
}

impl SourceImage {
    pub fn from_image(image: DynamicImage) -> Self {
        Self { width: image.width(), height: image.height(), pixels: Pixels::Image(image) }
    }

    /// A copy at most `long` pixels on its long side, at the same bit depth: shrunk with a
    /// triangle filter as wide as the scale (an average), or as it is when it fits.
    pub fn shrunk(&self, long: u32) -> SourceImage {
        let (w, h) = (self.width, self.height);
        if w.max(h) <= long {
            return self.clone();
        }
        let scale = f64::from(long) / f64::from(w.max(h));
        let side = |n: u32| ((f64::from(n) * scale).round() as u32).max(1);
        let (nw, nh) = (side(w), side(h));
        let filter = image::imageops::FilterType::Triangle;
        match &self.pixels {
            Pixels::Image(image) => Self::from_image(image.resize_exact(nw, nh, filter)),
            Pixels::GrayF32(values) => {
                let full =
                    image::ImageBuffer::<image::Luma<f32>, _>::from_raw(w, h, values.clone())
                        .expect("one value a pixel");
                let small = image::imageops::resize(&full, nw, nh, filter);
                Self { width: nw, height: nh, pixels: Pixels::GrayF32(small.into_raw()) }
            }
        }
    }

    /// The image as 8-bit RGBA (float grey is scaled from 0..1).
    pub fn into_rgba8(self) -> image::RgbaImage {
        match self.pixels {
            Pixels::Image(image) => image.into_rgba8(),
            Pixels::GrayF32(values) => {
                image::RgbaImage::from_fn(self.width, self.height, |x, y| {
                    let v = values[(y * self.width + x) as usize];
                    let g = (v.clamp(0.0, 1.0) * 255.0).round() as u8;
                    image::Rgba([g, g, g, 255])
                })
            }
        }
    }

    pub fn width(&self) -> u32 {
        self.width
    }

    pub fn height(&self) -> u32 {
        self.height
    }

    /// Interleaved channels per pixel (1 to 4) as [`Self::rows`] writes them.
    pub fn channels(&self) -> u32 {
        match &self.pixels {
            Pixels::Image(image) => match image {
                DynamicImage::ImageLuma8(_) | DynamicImage::ImageLuma16(_) => 1,
                DynamicImage::ImageLumaA8(_) | DynamicImage::ImageLumaA16(_) => 2,
                DynamicImage::ImageRgb8(_)
                | DynamicImage::ImageRgb16(_)
                | DynamicImage::ImageRgb32F(_) => 3,
                _ => 4,
            },
            Pixels::GrayF32(_) => 1,
        }
    }

    pub fn has_alpha(&self) -> bool {
        matches!(self.channels(), 2 | 4)
    }

    /// Float images carry arbitrary units (a height in metres, say) rather than 0..1.
    pub fn is_float(&self) -> bool {
        match &self.pixels {
            Pixels::Image(image) => {
                matches!(image, DynamicImage::ImageRgb32F(_) | DynamicImage::ImageRgba32F(_))
            }
            Pixels::GrayF32(_) => true,
        }
    }

    /// Bits per channel as stored in the file's decoded form.
    pub fn bits_per_channel(&self) -> u32 {
        match &self.pixels {
            Pixels::Image(image) => {
                let color = image.color();
                u32::from(color.bits_per_pixel()) / u32::from(color.channel_count())
            }
            Pixels::GrayF32(_) => 32,
        }
    }

    /// The image as one plane of grey samples in its own depth: 8-bit images as `u8`, 16-bit
    /// as `u16`, float as `f32` (colour through Rec. 709 luminance).
    pub fn into_gray_voxels(self) -> crate::volume::Voxels {
        use crate::volume::Voxels;
        match self.pixels {
            Pixels::GrayF32(data) => Voxels::F32(data),
            Pixels::Image(image) => match image {
                DynamicImage::ImageLuma8(b) => Voxels::U8(b.into_raw()),
                DynamicImage::ImageLuma16(b) => Voxels::U16(b.into_raw()),
                image if image.color().has_alpha() || image.color().channel_count() >= 3 => {
                    match image.color().bits_per_pixel() / u16::from(image.color().channel_count())
                    {
                        8 => Voxels::U8(image.to_luma8().into_raw()),
                        16 => Voxels::U16(image.to_luma16().into_raw()),
                        _ => Voxels::F32(image.to_luma32f().into_raw()),
                    }
                }
                image => Voxels::F32(image.to_luma32f().into_raw()),
            },
        }
    }

    /// Writes rows `y0..y1` into `out` as interleaved floats: integer formats scaled to 0..1,
    /// floats as they are with NaN (a common "no data" marker) read as 0.
    pub fn rows(&self, y0: u32, y1: u32, out: &mut Vec<f32>) {
        let per_row = self.width as usize * self.channels() as usize;
        let range = y0 as usize * per_row..y1 as usize * per_row;
        out.clear();
        fn scaled<T: Copy + Into<f32>>(src: &[T], scale: f32, out: &mut Vec<f32>) {
            out.extend(src.iter().map(|&v| v.into() * scale));
        }
        let floats = |src: &[f32], out: &mut Vec<f32>| {
            out.extend(src.iter().map(|&v| if v.is_nan() { 0.0 } else { v }));
        };
        match &self.pixels {
            Pixels::GrayF32(data) => floats(&data[range], out),
            Pixels::Image(image) => match image {
                DynamicImage::ImageLuma8(b) => scaled(&b.as_raw()[range], 1.0 / 255.0, out),
                DynamicImage::ImageLumaA8(b) => scaled(&b.as_raw()[range], 1.0 / 255.0, out),
                DynamicImage::ImageRgb8(b) => scaled(&b.as_raw()[range], 1.0 / 255.0, out),
                DynamicImage::ImageRgba8(b) => scaled(&b.as_raw()[range], 1.0 / 255.0, out),
                DynamicImage::ImageLuma16(b) => scaled(&b.as_raw()[range], 1.0 / 65535.0, out),
                DynamicImage::ImageLumaA16(b) => scaled(&b.as_raw()[range], 1.0 / 65535.0, out),
                DynamicImage::ImageRgb16(b) => scaled(&b.as_raw()[range], 1.0 / 65535.0, out),
                DynamicImage::ImageRgba16(b) => scaled(&b.as_raw()[range], 1.0 / 65535.0, out),
                DynamicImage::ImageRgb32F(b) => floats(&b.as_raw()[range], out),
                DynamicImage::ImageRgba32F(b) => floats(&b.as_raw()[range], out),
                other => {
                    // Formats added to `image` later: go through RGBA float, row by row.
                    let rgba = other.to_rgba32f();
                    floats(&rgba.as_raw()[range], out);
                }
            },
        }
    }
}

/// Decodes the image file at `path`.
pub fn decode_file(path: &Path, limits: DecodeLimits) -> Result<SourceImage> {
    let bytes = std::fs::read(path).map_err(EngineError::ReadInput)?;
    decode_bytes(&bytes, limits)
}

/// Decodes an image held in memory.
pub fn decode_bytes(bytes: &[u8], limits: DecodeLimits) -> Result<SourceImage> {
    let reader = || Cursor::new(bytes);
    let format = sniff(reader())?;
    if format == ImageFormat::Tiff
        && let Some(image) = decode_gray_f32_tiff(bytes, limits)?
    {
        return Ok(image);
    }
    let (width, height) =
        open(reader(), format, limits)?.into_dimensions().map_err(|e| classify(e, limits))?;
    check_dimensions(width, height, limits)?;
    let image = open(reader(), format, limits)?.decode().map_err(|e| classify(e, limits))?;
    Ok(SourceImage::from_image(image))
}

/// Reads only the header: the format and dimensions, for validating uploads cheaply.
pub fn probe_bytes(bytes: &[u8], limits: DecodeLimits) -> Result<(ImageFormat, u32, u32)> {
    let format = sniff(Cursor::new(bytes))?;
    let (width, height) = open(Cursor::new(bytes), format, limits)?
        .into_dimensions()
        .map_err(|e| classify(e, limits))?;
    check_dimensions(width, height, limits)?;
    Ok((format, width, height))
}

/// An image's header, and what decoding it costs in memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Probe {
    pub format: ImageFormat,
    pub width: u32,
    pub height: u32,
    /// Bytes of the whole decoded image, as the decoder reports from the header.
    pub decoded_bytes: u64,
    /// Bytes [`validate_bytes`] holds at once: a few rows for PNG, else the whole image.
    pub validation_bytes: u64,
}

/// Reads the header and says what decoding costs, before any pixel is decoded.
pub fn probe_cost(bytes: &[u8], limits: DecodeLimits) -> Result<Probe> {
    let (format, width, height) = probe_bytes(bytes, limits)?;
    let fallback = u64::from(width) * u64::from(height) * 16;
    let decoded_bytes = open(Cursor::new(bytes), format, limits)?
        .into_decoder()
        .map_or(fallback, |decoder| image::ImageDecoder::total_bytes(&decoder));
    let validation_bytes = match format {
        // Two rows of the widest pixel (RGBA, 16 bits) and inflate's window.
        ImageFormat::Png => 2 * u64::from(width) * 8 + (1 << 16),
        // One strip or tile at a time, and its compressed bytes.
        ImageFormat::Tiff => {
            let per_pixel = decoded_bytes.div_ceil(u64::from(width) * u64::from(height)).max(1);
            tiff::decoder::Decoder::new(Cursor::new(bytes)).map_or(decoded_bytes, |decoder| {
                let (w, h) = decoder.chunk_dimensions();
                (2 * u64::from(w) * u64::from(h) * per_pixel).min(decoded_bytes)
            })
        }
        _ => decoded_bytes,
    };
    Ok(Probe { format, width, height, decoded_bytes, validation_bytes })
}

/// Checks that the whole image decodes, so a truncated or corrupt file is refused at upload.
/// PNG is read row by row and each row dropped, so a small file that declares 16384 x 16384
/// pixels costs a row of memory, not a gigabyte; other formats are decoded and dropped.
pub fn validate_bytes(bytes: &[u8], limits: DecodeLimits) -> Result<Probe> {
    let probe = probe_cost(bytes, limits)?;
    if probe.format == ImageFormat::Png {
        let corrupt = |e: png::DecodingError| match e {
            png::DecodingError::LimitsExceeded => {
                EngineError::TooMuchMemory { limit_mib: limits.max_alloc_bytes >> 20 }
            }
            e => EngineError::CorruptImage(e.to_string()),
        };
        let png_limits = png::Limits { bytes: limits.max_alloc_bytes as usize };
        let decoder = png::Decoder::new_with_limits(Cursor::new(bytes), png_limits);
        let mut reader = decoder.read_info().map_err(corrupt)?;
        while reader.next_row().map_err(corrupt)?.is_some() {}
        reader.finish().map_err(corrupt)?;
    } else if probe.format != ImageFormat::Tiff || !validate_tiff_chunks(bytes, limits)? {
        decode_bytes(bytes, limits)?;
    }
    Ok(probe)
}

/// Reads a TIFF's first image strip by strip (or tile by tile), dropping each. `false` when
/// the `tiff` crate cannot read its chunks alone (an unusual layout): decode it whole instead.
fn validate_tiff_chunks(bytes: &[u8], limits: DecodeLimits) -> Result<bool> {
    use tiff::TiffError;
    use tiff::decoder::{ChunkType, Decoder, Limits};
    let corrupt = |e: TiffError| match e {
        TiffError::LimitsExceeded => {
            EngineError::TooMuchMemory { limit_mib: limits.max_alloc_bytes >> 20 }
        }
        e => EngineError::CorruptImage(e.to_string()),
    };
    let mut tiff_limits = Limits::default();
    tiff_limits.decoding_buffer_size = limits.max_alloc_bytes as usize;
    tiff_limits.intermediate_buffer_size = limits.max_alloc_bytes as usize;
    let mut decoder = Decoder::new(Cursor::new(bytes)).map_err(corrupt)?.with_limits(tiff_limits);
    let chunks = match decoder.get_chunk_type() {
        ChunkType::Strip => decoder.strip_count(),
        ChunkType::Tile => decoder.tile_count(),
    };
    let chunks = match chunks {
        Ok(chunks) => chunks,
        Err(TiffError::UnsupportedError(_)) => return Ok(false),
        Err(e) => return Err(corrupt(e)),
    };
    for chunk in 0..chunks {
        match decoder.read_chunk(chunk) {
            Ok(_) => {}
            Err(TiffError::UnsupportedError(_)) => return Ok(false),
            Err(e) => return Err(corrupt(e)),
        }
    }
    Ok(true)
}

fn sniff<R: BufRead + Seek>(reader: R) -> Result<ImageFormat> {
    let reader = ImageReader::new(reader).with_guessed_format().map_err(EngineError::ReadInput)?;
    reader.format().ok_or_else(|| {
        EngineError::UnsupportedFormat("its first bytes match no known image format".into())
    })
}

fn open<R: BufRead + Seek>(
    reader: R,
    format: ImageFormat,
    limits: DecodeLimits,
) -> Result<ImageReader<R>> {
    let mut reader = ImageReader::with_format(reader, format);
    let mut image_limits = image::Limits::default();
    image_limits.max_alloc = Some(limits.max_alloc_bytes);
    reader.limits(image_limits);
    Ok(reader)
}

pub(crate) fn check_dimensions(width: u32, height: u32, limits: DecodeLimits) -> Result<()> {
    let pixels = u64::from(width) * u64::from(height);
    if pixels > limits.max_pixels {
        return Err(EngineError::TooManyPixels {
            width,
            height,
            megapixels: pixels as f64 / 1e6,
            limit_megapixels: limits.max_pixels as f64 / 1e6,
        });
    }
    if width < 2 || height < 2 {
        return Err(EngineError::TooSmall { width, height });
    }
    Ok(())
}

/// `image` has no single-channel float buffer, so grey float TIFFs (the usual form of a
/// height map from GIS tools) are read with `tiff` directly. `None` means "not that kind".
fn decode_gray_f32_tiff(bytes: &[u8], limits: DecodeLimits) -> Result<Option<SourceImage>> {
    use tiff::ColorType;
    use tiff::decoder::{Decoder, DecodingResult, Limits};
    let corrupt = |e: tiff::TiffError| EngineError::CorruptImage(e.to_string());
    let mut decoder = Decoder::new(Cursor::new(bytes)).map_err(corrupt)?;
    if decoder.colortype().map_err(corrupt)? != ColorType::Gray(32) {
        return Ok(None);
    }
    let (width, height) = decoder.dimensions().map_err(corrupt)?;
    check_dimensions(width, height, limits)?;
    let mut tiff_limits = Limits::default();
    tiff_limits.decoding_buffer_size = limits.max_alloc_bytes as usize;
    tiff_limits.intermediate_buffer_size = limits.max_alloc_bytes as usize;
    decoder = decoder.with_limits(tiff_limits);
    match decoder.read_image() {
        Ok(DecodingResult::F32(data)) => {
            Ok(Some(SourceImage { width, height, pixels: Pixels::GrayF32(data) }))
        }
        // 32-bit integer grey: not a float map; let `image` report on it.
        Ok(_) => Ok(None),
        Err(tiff::TiffError::LimitsExceeded) => {
            Err(EngineError::TooMuchMemory { limit_mib: limits.max_alloc_bytes >> 20 })
        }
        Err(e) => Err(corrupt(e)),
    }
}

fn classify(error: ImageError, limits: DecodeLimits) -> EngineError {
    match error {
        ImageError::Limits(limit) => match limit.kind() {
            LimitErrorKind::DimensionError => EngineError::CorruptImage(limit.to_string()),
            _ => EngineError::TooMuchMemory { limit_mib: limits.max_alloc_bytes >> 20 },
        },
        ImageError::Unsupported(e) => EngineError::UnsupportedFormat(e.to_string()),
        ImageError::Decoding(e) => EngineError::CorruptImage(e.to_string()),
        ImageError::IoError(e) => EngineError::CorruptImage(e.to_string()),
        other => EngineError::CorruptImage(other.to_string()),
    }
}
