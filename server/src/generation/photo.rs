//! A photo as the providers take it: PNG or JPEG, at most [`Photo::MAX_BYTES`] and
//! [`Photo::MAX_SIDE`] pixels a side, and nothing but its picture.
//!
//! An upload that already is one, and stands upright, goes with its compressed picture byte for
//! byte, less its metadata (see [`without_metadata`]): a phone's photo says where and when it
//! was taken and with what, which the provider has no need of. Any other (WebP, TIFF, BMP,
//! GIF, one too large, or one turned by its EXIF orientation) is decoded under the upload
//! limits, turned upright, shrunk to [`Photo::SENT_SIDE`] on its long side, and sent as PNG,
//! which keeps its pixels and its transparency and carries no metadata.

use std::io::Cursor;

use image::metadata::Orientation;
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
        let orientation = orientation(bytes);
        if let Some(format) = sendable
            && bytes.len() <= Self::MAX_BYTES
            && width.max(height) <= Self::MAX_SIDE
            && orientation == Orientation::NoTransforms
            && let Some(bytes) = without_metadata(bytes, format)
        {
            return Ok(Photo { bytes, format });
        }
        let image = decode::decode_bytes(bytes, limits).map_err(unreadable)?;
        let mut image = DynamicImage::ImageRgba8(image.shrunk(Self::SENT_SIDE).into_rgba8());
        image.apply_orientation(orientation);
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
fn orientation(bytes: &[u8]) -> Orientation {
    let none = Orientation::NoTransforms;
    let Ok(reader) = image::ImageReader::new(Cursor::new(bytes)).with_guessed_format() else {
        return none;
    };
    reader.into_decoder().and_then(|mut d| d.orientation()).unwrap_or(none)
}

/// A PNG or JPEG file less what it says beyond its picture, or `None` where its layout is not
/// one walked here (it is then decoded and sent as a new PNG).
///
/// - JPEG: EXIF and XMP (APP1), IPTC (APP13), the other application segments, and comments
///   go, as does anything after the picture's end (a phone's second pictures). What decoding
///   needs stays: the tables, the frame and the scans byte for byte, the JFIF header, the
///   colour profile (APP2 `ICC_PROFILE`) and Adobe's colour transform (APP14).
/// - PNG: EXIF (`eXIf`), text (`tEXt`, `zTXt`, `iTXt`) and time (`tIME`) go, and anything
///   after `IEND`; every other chunk stays byte for byte.
fn without_metadata(bytes: &[u8], format: PhotoFormat) -> Option<Vec<u8>> {
    match format {
        PhotoFormat::Jpeg => jpeg_without_metadata(bytes),
        PhotoFormat::Png => png_without_metadata(bytes),
    }
}

fn jpeg_without_metadata(bytes: &[u8]) -> Option<Vec<u8>> {
    let keep = |marker: u8, body: &[u8]| match marker {
        0xE0 => body.starts_with(b"JFIF\0"),
        0xE2 => body.starts_with(b"ICC_PROFILE\0"),
        0xEE => body.starts_with(b"Adobe"),
        0xE1 | 0xE3..=0xED | 0xEF | 0xFE => false,
        _ => true,
    };
    if !bytes.starts_with(&[0xFF, 0xD8]) {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len());
    out.extend_from_slice(&bytes[..2]);
    let mut i = 2;
    loop {
        let (0xFF, marker) = (*bytes.get(i)?, *bytes.get(i + 1)?) else { return None };
        match marker {
            // A fill byte before the marker.
            0xFF => i += 1,
            0xD9 => {
                out.extend_from_slice(&[0xFF, 0xD9]);
                return Some(out);
            }
            0xD0..=0xD8 | 0x01 | 0x00 => return None,
            _ => {
                let length =
                    usize::from(u16::from_be_bytes([*bytes.get(i + 2)?, *bytes.get(i + 3)?]));
                let end = i + 2 + length;
                if length < 2 || end > bytes.len() {
                    return None;
                }
                if keep(marker, &bytes[i + 4..end]) {
                    out.extend_from_slice(&bytes[i..end]);
                }
                i = end;
                if marker == 0xDA {
                    // The scan's coded data runs to the next marker that is neither a stuffed
                    // 0xFF nor a restart.
                    let start = i;
                    loop {
                        i += bytes.get(i..)?.iter().position(|&b| b == 0xFF)?;
                        match *bytes.get(i + 1)? {
                            0x00 | 0xD0..=0xD7 => i += 2,
                            0xFF => i += 1,
                            _ => break,
                        }
                    }
                    out.extend_from_slice(&bytes[start..i]);
                }
            }
        }
    }
}

fn png_without_metadata(bytes: &[u8]) -> Option<Vec<u8>> {
    const SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";
    if !bytes.starts_with(SIGNATURE) {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len());
    out.extend_from_slice(SIGNATURE);
    let mut i = SIGNATURE.len();
    loop {
        let length = u32::from_be_bytes(bytes.get(i..i + 4)?.try_into().ok()?) as usize;
        let end = i.checked_add(12)?.checked_add(length)?;
        let kind = bytes.get(i + 4..i + 8)?;
        let chunk = bytes.get(i..end)?;
        if !matches!(kind, b"eXIf" | b"tEXt" | b"zTXt" | b"iTXt" | b"tIME") {
            out.extend_from_slice(chunk);
        }
        if kind == b"IEND" {
            return Some(out);
        }
        i = end;
    }
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

    /// A camera's EXIF block: its make, and `orientation`.
    fn exif(orientation: u16) -> Vec<u8> {
        let mut block = b"Exif\0\0II*\0\x08\0\0\0\x02\0".to_vec();
        for (tag, kind, count, value) in [
            (0x0112u16, 3u16, 1u32, [orientation.to_le_bytes(), [0, 0]].concat()),
            (0x010F, 2, 4, b"Cam\0".to_vec()),
        ] {
            block.extend(tag.to_le_bytes());
            block.extend(kind.to_le_bytes());
            block.extend(count.to_le_bytes());
            block.extend(value);
        }
        block.extend(0u32.to_le_bytes());
        block
    }

    fn segment(marker: u8, body: &[u8]) -> Vec<u8> {
        [&[0xFF, marker][..], &(body.len() as u16 + 2).to_be_bytes(), body].concat()
    }

    /// `jpeg` as a phone writes it: EXIF with `orientation` first, a comment, and a second
    /// picture after the end.
    fn tagged(jpeg: &[u8], orientation: u16) -> Vec<u8> {
        let (exif, comment) = (segment(0xE1, &exif(orientation)), segment(0xFE, b"at home"));
        [&jpeg[..2], &exif, &comment, &jpeg[2..], b"\xFF\xD8second picture\xFF\xD9"].concat()
    }

    /// A JPEG the `image` crate wrote, and the same as a phone's with `orientation`.
    fn phone_jpeg(orientation: u16) -> (Vec<u8>, Vec<u8>) {
        let jpeg =
            encoded(&DynamicImage::ImageRgb8(gradient(300, 200).to_rgb8()), ImageFormat::Jpeg);
        let phone = tagged(&jpeg, orientation);
        (jpeg, phone)
    }

    #[test]
    fn a_jpeg_goes_without_its_metadata_and_its_picture_byte_for_byte() {
        let (jpeg, phone) = phone_jpeg(1);
        assert_eq!(orientation(&phone), Orientation::NoTransforms);
        assert_eq!(
            Photo::prepare(&phone).unwrap(),
            Photo { bytes: jpeg, format: PhotoFormat::Jpeg }
        );
    }

    #[test]
    fn a_turned_jpeg_is_sent_upright_as_a_png() {
        let (jpeg, phone) = phone_jpeg(6);
        assert_eq!(orientation(&phone), Orientation::Rotate90);
        let photo = Photo::prepare(&phone).unwrap();
        assert_eq!(photo.format, PhotoFormat::Png);
        let sent = image::load_from_memory_with_format(&photo.bytes, ImageFormat::Png).unwrap();
        let upright = image::load_from_memory(&jpeg).unwrap().rotate90();
        assert_eq!(sent.to_rgba8(), upright.to_rgba8());
    }

    #[test]
    fn a_png_goes_without_its_text_time_and_exif() {
        // scikit-image's astronaut.png carries text and a time; add EXIF after the header.
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/data/astronaut.png");
        let original = std::fs::read(path).unwrap();
        let chunk = |kind: &[u8], data: &[u8]| {
            let crc = crc32fast::hash(&[kind, data].concat());
            [&(data.len() as u32).to_be_bytes()[..], kind, data, &crc.to_be_bytes()].concat()
        };
        let header_end = 8 + 12 + 13;
        let png =
            [&original[..header_end], &chunk(b"eXIf", &exif(1)[6..]), &original[header_end..]]
                .concat();
        let photo = Photo::prepare(&png).unwrap();
        assert_eq!(photo.format, PhotoFormat::Png);
        let kinds = |bytes: &[u8]| {
            let mut i = 8;
            let mut kinds = Vec::new();
            while i < bytes.len() {
                let length = u32::from_be_bytes(bytes[i..i + 4].try_into().unwrap()) as usize;
                kinds.push(String::from_utf8_lossy(&bytes[i + 4..i + 8]).into_owned());
                i += 12 + length;
            }
            kinds
        };
        let (before, after) = (kinds(&png), kinds(&photo.bytes));
        for gone in ["eXIf", "tEXt", "tIME"] {
            assert!(
                before.iter().any(|k| k == gone) && !after.iter().any(|k| k == gone),
                "{after:?}"
            );
        }
        let kept: Vec<_> =
            before.iter().filter(|k| !["eXIf", "tEXt", "tIME"].contains(&k.as_str())).collect();
        assert_eq!(after.iter().collect::<Vec<_>>(), kept, "every other chunk kept in order");
        let sent = image::load_from_memory_with_format(&photo.bytes, ImageFormat::Png).unwrap();
        assert_eq!(sent.to_rgba8(), image::load_from_memory(&original).unwrap().to_rgba8());
    }

    #[test]
    fn a_file_whose_layout_is_not_walked_is_sent_as_a_new_png() {
        let rgb = DynamicImage::ImageRgb8(gradient(30, 20).to_rgb8());
        let jpeg = encoded(&rgb, ImageFormat::Jpeg);
        assert_eq!(jpeg_without_metadata(&jpeg[..jpeg.len() - 2]), None, "no end");
        assert_eq!(jpeg_without_metadata(&[0xFF, 0xD8, 0xFF, 0xE1, 0x00, 0x40]), None, "cut short");
        assert_eq!(png_without_metadata(b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR"), None, "cut short");
    }

    #[test]
    fn what_is_not_an_image_is_refused_with_a_reason() {
        let error = Photo::prepare(b"solid cube\nendsolid cube\n").unwrap_err();
        assert!(error.starts_with("the photo cannot be read"), "{error}");
    }
}
