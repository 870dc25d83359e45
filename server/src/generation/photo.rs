//! A photo as the providers take it: PNG or JPEG, at most [`Photo::MAX_BYTES`] and
//! [`Photo::MAX_SIDE`] pixels a side. An upload that already is one goes as it is, byte for
//! byte; any other (WebP, TIFF, BMP, GIF, or one too large) is decoded under the upload limits,
//! turned upright by its EXIF orientation, shrunk to [`Photo::SENT_SIDE`] on its long side,
//! and sent as PNG, which keeps its pixels and its transparency.

use std::io::Cursor;

use image::{DynamicImage, ImageDecoder, ImageFormat};
use lithos_engine::{DecodeLimits, decode};

/// How a photo is encoded for the provider.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PhotoFormat {
    Png,
    Jpeg,
}

impl PhotoFormat {
    pub fn mime(self) -> &'static str {
        match self {
            PhotoFormat::Png => "image/png",
            PhotoFormat::Jpeg => "image/jpeg",
        }
    }

    /// The file type as Tripo's `file.type` names it.
    pub fn extension(self) -> &'static str {
        match self {
            PhotoFormat::Png => "png",
            PhotoFormat::Jpeg => "jpg",
        }
    }
}

/// A photo ready to send to a generation provider.
#[derive(Clone, PartialEq, Eq)]
pub struct Photo {
    pub bytes: Vec<u8>,
    pub format: PhotoFormat,
}

/// Its size and format, never its pixels: a photo is the user's.
impl std::fmt::Debug for Photo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Photo({:?}, {} bytes)", self.format, self.bytes.len())
    }
}

impl Photo {
    /// The largest file sent as it is: well under Tripo's 20 MB, and a data URI Meshy takes.
    pub const MAX_BYTES: usize = 8 << 20;
    /// The largest side sent as it is.
    pub const MAX_SIDE: u32 = 4096;
    /// The long side a re-encoded photo is shrunk to: more than the providers look at.
    pub const SENT_SIDE: u32 = 2048;

    /// The upload `bytes` as the providers take them, or why it cannot be read.
    pub fn prepare(bytes: &[u8]) -> Result<Photo, String> {
        let limits = DecodeLimits::default();
        let unreadable = |e: lithos_engine::EngineError| format!("the photo cannot be read: {e}");
        let (format, width, height) = decode::probe_bytes(bytes, limits).map_err(unreadable)?;
        let sendable = match format {
            ImageFormat::Png => Some(PhotoFormat::Png),
            ImageFormat::Jpeg => Some(PhotoFormat::Jpeg),
            _ => None,
        };
        if let Some(format) = sendable
            && bytes.len() <= Self::MAX_BYTES
            && width.max(height) <= Self::MAX_SIDE
        {
            return Ok(Photo { bytes: bytes.to_vec(), format });
        }
        let image = decode::decode_bytes(bytes, limits).map_err(unreadable)?;
        let mut image = DynamicImage::ImageRgba8(image.shrunk(Self::SENT_SIDE).into_rgba8());
        image.apply_orientation(orientation(bytes));
        // A PNG of a noisy photo can be large: halved until it fits.
        loop {
            let mut png = Cursor::new(Vec::new());
            image
                .write_to(&mut png, ImageFormat::Png)
                .map_err(|e| format!("the photo cannot be encoded as PNG: {e}"))?;
            let png = png.into_inner();
            if png.len() <= Self::MAX_BYTES || image.width().max(image.height()) <= 256 {
                return Ok(Photo { bytes: png, format: PhotoFormat::Png });
            }
            let (w, h) = (image.width().div_ceil(2), image.height().div_ceil(2));
            image = image.resize_exact(w, h, image::imageops::FilterType::Triangle);
        }
    }

    /// The photo as a data URI (`data:image/png;base64,…`), as Meshy's `image_url` takes it.
    pub fn data_uri(&self) -> String {
        use base64::Engine as _;
        let encoded = base64::engine::general_purpose::STANDARD.encode(&self.bytes);
        format!("data:{};base64,{encoded}", self.format.mime())
    }
}

/// The EXIF orientation of an image, or none where it has none or cannot say.
fn orientation(bytes: &[u8]) -> image::metadata::Orientation {
    let none = image::metadata::Orientation::NoTransforms;
    let Ok(reader) = image::ImageReader::new(Cursor::new(bytes)).with_guessed_format() else {
        return none;
    };
    reader.into_decoder().and_then(|mut d| d.orientation()).unwrap_or(none)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(image: &DynamicImage, format: ImageFormat) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        image.write_to(&mut out, format).unwrap();
        out.into_inner()
    }

    fn gradient(width: u32, height: u32) -> DynamicImage {
        DynamicImage::ImageRgba8(image::RgbaImage::from_fn(width, height, |x, y| {
            image::Rgba([(x % 256) as u8, (y % 256) as u8, ((x + y) % 256) as u8, 200])
        }))
    }

    #[test]
    fn a_png_or_jpeg_within_the_limits_goes_byte_for_byte() {
        let image = gradient(300, 200);
        let png = encoded(&image, ImageFormat::Png);
        assert_eq!(Photo::prepare(&png).unwrap(), Photo { bytes: png, format: PhotoFormat::Png });
        let rgb = DynamicImage::ImageRgb8(image.to_rgb8());
        let jpeg = encoded(&rgb, ImageFormat::Jpeg);
        let photo = Photo::prepare(&jpeg).unwrap();
        assert_eq!((photo.format, &photo.bytes), (PhotoFormat::Jpeg, &jpeg));
        assert!(photo.data_uri().starts_with("data:image/jpeg;base64,/9j/"));
    }

    #[test]
    fn another_format_becomes_a_png_of_the_same_pixels() {
        let image = gradient(300, 200);
        let bmp = encoded(&image, ImageFormat::Bmp);
        let photo = Photo::prepare(&bmp).unwrap();
        assert_eq!(photo.format, PhotoFormat::Png);
        let sent = image::load_from_memory_with_format(&photo.bytes, ImageFormat::Png).unwrap();
        assert_eq!(sent.to_rgba8(), image.to_rgba8(), "lossless, transparency kept");
    }

    #[test]
    fn a_photo_over_the_largest_side_is_shrunk_to_the_sent_side() {
        let png = encoded(&gradient(5000, 100), ImageFormat::Png);
        let photo = Photo::prepare(&png).unwrap();
        let sent = image::load_from_memory_with_format(&photo.bytes, ImageFormat::Png).unwrap();
        assert_eq!((sent.width(), sent.height()), (Photo::SENT_SIDE, 41));
    }

    #[test]
    fn what_is_not_an_image_is_refused_with_a_reason() {
        let error = Photo::prepare(b"solid cube\nendsolid cube\n").unwrap_err();
        assert!(error.starts_with("the photo cannot be read"), "{error}");
    }
}
