//! Every input format decodes with its precision intact, and every bad input gets a typed
//! error before memory is spent.

use std::io::Cursor;

use image::{DynamicImage, ImageFormat};
use lithos_engine::decode::{decode_bytes, probe_bytes};
use lithos_engine::{DecodeLimits, EngineError, SourceImage};

use crate::helpers::*;

fn encode(image: &DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut bytes = Cursor::new(Vec::new());
    image.write_to(&mut bytes, format).unwrap_or_else(|e| panic!("encode {format:?}: {e}"));
    bytes.into_inner()
}

fn thickness(image: &SourceImage) -> Vec<f32> {
    let params = relief(30.0);
    cpu().heightfield(image, &params, &lithos_engine::Silent, &mut Vec::new()).unwrap().thickness
}

#[test]
fn every_format_decodes_to_the_same_heights() {
    let camera = image::open(data("camera.png")).unwrap();
    let reference = thickness(&SourceImage::from_image(camera.clone()));
    let lossless = [
        (ImageFormat::Png, camera.clone()),
        (ImageFormat::Tiff, camera.clone()),
        (ImageFormat::Tiff, DynamicImage::ImageLuma16(camera.to_luma16())),
        (ImageFormat::Png, DynamicImage::ImageLuma16(camera.to_luma16())),
        (ImageFormat::Bmp, DynamicImage::ImageRgb8(camera.to_rgb8())),
        (ImageFormat::Gif, DynamicImage::ImageRgba8(camera.to_rgba8())),
        (ImageFormat::WebP, DynamicImage::ImageRgba8(camera.to_rgba8())),
        (ImageFormat::Tiff, DynamicImage::ImageRgb32F(camera.to_rgb32f())),
    ];
    for (format, image) in lossless {
        let label = format!("{format:?} {:?}", image.color());
        let decoded = decode_bytes(&encode(&image, format), DecodeLimits::default()).expect(&label);
        assert_eq!((decoded.width(), decoded.height()), (512, 512), "{label}");
        let heights = thickness(&decoded);
        let worst = heights.iter().zip(&reference).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
        assert!(worst < 1e-5, "{label}: heights differ by {worst} mm");
    }
    let jpeg = encode(&DynamicImage::ImageRgb8(camera.to_rgb8()), ImageFormat::Jpeg);
    let decoded = decode_bytes(&jpeg, DecodeLimits::default()).unwrap();
    let (hf, stl) = convert(cpu(), &decoded, &relief(30.0));
    assert_printable("jpeg", &hf, &stl);
}

#[test]
fn sixteen_bit_input_keeps_every_level() {
    // 1000 distinct 16-bit levels in 1000 columns: 8 bits would merge them into 256 terraces.
    let ramp = image::ImageBuffer::from_fn(1000, 2, |x, _| image::Luma([(x * 65) as u16]));
    let png = encode(&DynamicImage::ImageLuma16(ramp), ImageFormat::Png);
    let decoded = decode_bytes(&png, DecodeLimits::default()).unwrap();
    assert_eq!(decoded.bits_per_channel(), 16);
    let mut levels: Vec<u32> = thickness(&decoded).iter().map(|t| t.to_bits()).collect();
    levels.sort_unstable();
    levels.dedup();
    assert_eq!(levels.len(), 1000, "every 16-bit level is its own height");
}

#[test]
fn grey_float_tiff_height_maps_are_stretched_to_the_relief() {
    // Elevations in metres, as GIS tools write them: 100 m to 350 m, with a NaN hole.
    let (w, h) = (64u32, 40u32);
    let mut data: Vec<f32> =
        (0..w * h).map(|i| 100.0 + 250.0 * (i % w) as f32 / (w - 1) as f32).collect();
    data[5] = f32::NAN;
    let mut bytes = Cursor::new(Vec::new());
    tiff::encoder::TiffEncoder::new(&mut bytes)
        .unwrap()
        .write_image::<tiff::encoder::colortype::Gray32Float>(w, h, &data)
        .unwrap();
    let decoded = decode_bytes(bytes.get_ref(), DecodeLimits::default()).unwrap();
    assert!(decoded.is_float());
    assert_eq!(decoded.channels(), 1);
    let heights = thickness(&decoded);
    // NaN reads as 0 (below every elevation), so it becomes the floor of the stretch.
    let (lo, hi) = heights.iter().fold((f32::MAX, f32::MIN), |(l, h), &t| (l.min(t), h.max(t)));
    assert_eq!(lo, 2.0, "the lowest point is the base");
    assert!((hi - 5.0).abs() < 1e-6, "the highest point is base + relief: {hi}");
    assert!(heights[1] < heights[10] && heights[10] < heights[60], "heights follow elevation");
}

/// A PNG header claiming `width` x `height` pixels, with a token of data after it.
fn png_header(width: u32, height: u32) -> Vec<u8> {
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut chunk = |kind: &[u8], body: &[u8]| {
        png.extend_from_slice(&(body.len() as u32).to_be_bytes());
        let mut typed = kind.to_vec();
        typed.extend_from_slice(body);
        png.extend_from_slice(&typed);
        png.extend_from_slice(&crc32fast::hash(&typed).to_be_bytes());
    };
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 0, 0, 0, 0]);
    chunk(b"IHDR", &ihdr);
    chunk(b"IDAT", &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]);
    chunk(b"IEND", &[]);
    png
}

#[test]
fn a_bomb_header_is_refused_before_decoding() {
    let bomb = png_header(100_000, 100_000);
    let error = decode_bytes(&bomb, DecodeLimits::default()).expect_err("10 gigapixels");
    assert!(
        matches!(error, EngineError::TooManyPixels { width: 100_000, height: 100_000, .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("megapixels"), "{error}");
    assert!(matches!(
        probe_bytes(&bomb, DecodeLimits::default()),
        Err(EngineError::TooManyPixels { .. })
    ));
}

#[test]
fn a_real_compression_bomb_is_stopped_by_the_allocation_cap() {
    // 4000 x 4000 black pixels compress to a few kilobytes but decode to 16 MB.
    let bomb =
        encode(&DynamicImage::ImageLuma8(image::GrayImage::new(4000, 4000)), ImageFormat::Png);
    assert!(bomb.len() < 100_000, "the file is small: {} bytes", bomb.len());
    let limits = DecodeLimits { max_alloc_bytes: 8 << 20, ..DecodeLimits::default() };
    let error = decode_bytes(&bomb, limits).expect_err("needs 16 MB, cap is 8 MiB");
    assert!(matches!(error, EngineError::TooMuchMemory { limit_mib: 8 }), "{error:?}");
    assert!(decode_bytes(&bomb, DecodeLimits::default()).is_ok(), "within default limits");
}

#[test]
fn corrupt_truncated_and_non_images_get_typed_errors() {
    let camera = std::fs::read(data("camera.png")).unwrap();
    let truncated = decode_bytes(&camera[..camera.len() / 2], DecodeLimits::default());
    assert!(matches!(truncated, Err(EngineError::CorruptImage(_))), "{truncated:?}");

    let mut flipped = camera.clone();
    for byte in &mut flipped[200..400] {
        *byte ^= 0x5a;
    }
    assert!(matches!(
        decode_bytes(&flipped, DecodeLimits::default()),
        Err(EngineError::CorruptImage(_))
    ));

    let text = decode_bytes(b"this is not an image at all", DecodeLimits::default());
    assert!(matches!(text, Err(EngineError::UnsupportedFormat(_))), "{text:?}");
    assert!(matches!(
        decode_bytes(&[], DecodeLimits::default()),
        Err(EngineError::UnsupportedFormat(_))
    ));
}

#[test]
fn zero_and_one_pixel_images_are_refused() {
    let zero = decode_bytes(&png_header(0, 10), DecodeLimits::default());
    assert!(
        matches!(zero, Err(EngineError::CorruptImage(_) | EngineError::TooSmall { .. })),
        "{zero:?}"
    );
    let one = encode(&DynamicImage::ImageLuma8(image::GrayImage::new(1, 1)), ImageFormat::Png);
    let error = decode_bytes(&one, DecodeLimits::default()).expect_err("1x1 has no cells");
    assert!(matches!(error, EngineError::TooSmall { width: 1, height: 1 }), "{error:?}");
    assert!(error.to_string().contains("at least 2x2"));
}

#[test]
fn invalid_parameters_name_the_field() {
    use lithos_engine::params::{Mask, Tone};
    use lithos_engine::{ConvertParams, MaskSource, Mode};
    let image = random_gray(1, 8, 8);
    let cases = [
        (
            ConvertParams {
                mode: Mode::Relief { base_mm: mm(0.0), relief_mm: mm(1.0), layers: None },
                ..relief(10.0)
            },
            "base_mm",
        ),
        (
            ConvertParams {
                mode: Mode::Lithophane {
                    min_mm: mm(3.0),
                    max_mm: mm(1.0),
                    frame: None,
                    light: lithos_engine::Light::Linear,
                },
                ..relief(10.0)
            },
            "max_mm",
        ),
        (ConvertParams { tone: Tone { gamma: -1.0, ..Tone::default() }, ..relief(10.0) }, "gamma"),
        (
            ConvertParams { tone: Tone { blur_px: f32::NAN, ..Tone::default() }, ..relief(10.0) },
            "blur_px",
        ),
        (
            ConvertParams {
                mask: Some(Mask { source: MaskSource::Threshold, threshold: 2.0 }),
                ..relief(10.0)
            },
            "threshold",
        ),
        (
            ConvertParams {
                size: lithos_engine::params::PhysicalSize::WidthMm(mm(0.0)),
                ..relief(10.0)
            },
            "width_mm",
        ),
    ];
    for (params, field) in cases {
        let error = cpu()
            .heightfield(&image, &params, &lithos_engine::Silent, &mut Vec::new())
            .unwrap_err();
        match error {
            EngineError::InvalidParameter(p) => assert_eq!(p.field, field),
            other => panic!("{field}: expected InvalidParameter, got {other:?}"),
        }
    }
    assert!(lithos_engine::Millimetres::new(-1.0).unwrap_err().contains("negative"));

    let no_alpha = ConvertParams {
        mask: Some(Mask { source: MaskSource::Alpha, threshold: 0.5 }),
        ..relief(10.0)
    };
    assert!(matches!(
        cpu().heightfield(&image, &no_alpha, &lithos_engine::Silent, &mut Vec::new()),
        Err(EngineError::NoAlpha)
    ));
    let nothing = ConvertParams {
        mask: Some(Mask { source: MaskSource::Threshold, threshold: 1.0 }),
        ..relief(10.0)
    };
    let black = SourceImage::from_image(DynamicImage::ImageLuma8(image::GrayImage::new(8, 8)));
    assert!(matches!(
        cpu().heightfield(&black, &nothing, &lithos_engine::Silent, &mut Vec::new()),
        Err(EngineError::EmptyMask { .. })
    ));
}

#[test]
fn uploads_are_validated_in_rows_or_strips_and_truncation_is_caught() {
    use lithos_engine::decode::{probe_cost, validate_bytes};
    let limits = DecodeLimits::default();
    let camera = image::open(data("camera.png")).unwrap();
    let grey16 = DynamicImage::ImageLuma16(camera.to_luma16());
    let mut files: Vec<(String, Vec<u8>)> = ["camera.png", "coins.png", "horse.png"]
        .iter()
        .map(|name| (name.to_string(), std::fs::read(data(name)).unwrap()))
        .collect();
    // TIFF writers cut images into strips of about a megabyte: sixteen cameras in a square make
    // several.
    let grey = grey16.as_luma16().unwrap();
    let wide = image::ImageBuffer::from_fn(2048, 2048, |x, y| *grey.get_pixel(x % 512, y % 512));
    let tiff16 = encode(&DynamicImage::ImageLuma16(wide), ImageFormat::Tiff);
    files.push(("cameras 16-bit.tiff".into(), tiff16));
    let colour = camera.to_rgba8();
    let rgba = image::ImageBuffer::from_fn(2048, 2048, |x, y| *colour.get_pixel(x % 512, y % 512));
    let tiff_rgba = encode(&DynamicImage::ImageRgba8(rgba), ImageFormat::Tiff);
    files.push(("cameras rgba.tiff".into(), tiff_rgba));
    files.push(("camera.jpg".into(), encode(&camera, ImageFormat::Jpeg)));
    for (name, bytes) in &files {
        let probe = validate_bytes(bytes, limits).unwrap_or_else(|e| panic!("{name}: {e}"));
        let whole = decode_bytes(bytes, limits).unwrap();
        assert_eq!((probe.width, probe.height), (whole.width(), whole.height()), "{name}");
        assert_eq!(probe_cost(bytes, limits).unwrap(), probe, "{name}");
        if probe.format == ImageFormat::Png {
            // Two rows and inflate's window, however tall the image.
            let rows = 2 * u64::from(probe.width) * 8 + (1 << 16);
            assert!(probe.validation_bytes <= rows, "{name}: {probe:?}");
        } else if probe.format == ImageFormat::Tiff {
            // The strips the TIFF writer made: a fraction of the image.
            assert!(probe.validation_bytes * 4 <= probe.decoded_bytes, "{name}: {probe:?}");
        } else {
            assert_eq!(probe.validation_bytes, probe.decoded_bytes, "{name}: decoded whole");
            continue;
        }
        // Cut short, a file checked piece by piece is still refused as corrupt.
        let cut = &bytes[..bytes.len() * 3 / 5];
        match validate_bytes(cut, limits) {
            Err(EngineError::CorruptImage(_)) => {}
            other => panic!("{name} cut short: {other:?}"),
        }
    }
}
