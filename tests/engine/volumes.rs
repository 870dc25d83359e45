//! Every volume format reads the same samples and geometry, and every malformed input gets its
//! own clear error.

use std::io::Write;
use std::path::Path;

use lithos_engine::volume::Crop;
use lithos_engine::volume::Voxels;
use lithos_engine::{
    DecodeLimits, EngineError, RawType, Silent, Volume, VolumeParams, VolumeSource, volume,
};

use crate::helpers::{cpu, output_dir};
use crate::mesh_checks::assert_closed_manifold;

const DIMS: [usize; 3] = [24, 20, 16];

/// A smooth ball as 8-bit samples: 255 at the centre falling through 128 at radius 7.
fn ball() -> Vec<u8> {
    let [nx, ny, nz] = DIMS;
    let mut v = Vec::with_capacity(nx * ny * nz);
    for z in 0..nz {
        for y in 0..ny {
            for x in 0..nx {
                let d = [(x, 11.0), (y, 9.5), (z, 7.5)]
                    .map(|(i, c)| (i as f32 - c).powi(2))
                    .iter()
                    .sum::<f32>()
                    .sqrt();
                v.push((127.5 + 30.0 * (7.0 - d)).clamp(0.0, 255.0) as u8);
            }
        }
    }
    v
}

fn plane(data: &[u8], z: usize) -> &[u8] {
    let n = DIMS[0] * DIMS[1];
    &data[z * n..(z + 1) * n]
}

fn png(data: &[u8], width: usize, height: usize) -> Vec<u8> {
    let image = image::GrayImage::from_raw(width as u32, height as u32, data.to_vec()).unwrap();
    let mut bytes = std::io::Cursor::new(Vec::new());
    image.write_to(&mut bytes, image::ImageFormat::Png).unwrap();
    bytes.into_inner()
}

fn load(path: &Path) -> Result<Volume, EngineError> {
    volume::load(path, VolumeSource::Detect, DecodeLimits::default())
}

fn write_tiff_stack(path: &Path, pages: usize, page: impl Fn(usize) -> Vec<f32>, kind: &str) {
    use tiff::encoder::{TiffEncoder, colortype};
    let mut encoder = TiffEncoder::new(std::fs::File::create(path).unwrap()).unwrap();
    let (w, h) = (DIMS[0] as u32, DIMS[1] as u32);
    for z in 0..pages {
        let values = page(z);
        match kind {
            "u8" => {
                let data: Vec<u8> = values.iter().map(|&v| v as u8).collect();
                encoder.write_image::<colortype::Gray8>(w, h, &data).unwrap();
            }
            "u16" => {
                let data: Vec<u16> = values.iter().map(|&v| v as u16 * 257).collect();
                encoder.write_image::<colortype::Gray16>(w, h, &data).unwrap();
            }
            _ => {
                encoder.write_image::<colortype::Gray32Float>(w, h, &values).unwrap();
            }
        }
    }
}

#[test]
fn every_format_reads_the_same_samples_and_makes_the_same_mesh() {
    let dir = output_dir("volumes");
    let samples = ball();
    let reference = Volume::new(DIMS, Voxels::U8(samples.clone()));
    let [nx, ny, nz] = DIMS;

    // Numbered slices in a directory, named so that only natural order is right.
    let slices = dir.join("slices");
    std::fs::create_dir_all(&slices).unwrap();
    for z in 0..nz {
        std::fs::write(slices.join(format!("scan_{z}.png")), png(plane(&samples, z), nx, ny))
            .unwrap();
    }
    std::fs::write(slices.join("readme.txt"), "not a slice").unwrap();

    // The same slices in a ZIP, in a folder, listed out of order.
    let archive = dir.join("slices.zip");
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&archive).unwrap());
    for z in (0..nz).rev() {
        zip.start_file(format!("stack/slice{z}.png"), zip::write::SimpleFileOptions::default())
            .unwrap();
        zip.write_all(&png(plane(&samples, z), nx, ny)).unwrap();
    }
    zip.finish().unwrap();

    let tiff8 = dir.join("stack8.tif");
    let page = |z: usize| plane(&samples, z).iter().map(|&v| f32::from(v)).collect();
    write_tiff_stack(&tiff8, nz, page, "u8");

    let raw = dir.join("ball.raw");
    std::fs::write(&raw, &samples).unwrap();

    let nifti_plain = dir.join("ball.nii");
    let nifti_gz = dir.join("ball.nii.gz");
    let array =
        ndarray::Array3::from_shape_fn((nx, ny, nz), |(x, y, z)| samples[(z * ny + y) * nx + x]);
    for path in [&nifti_plain, &nifti_gz] {
        nifti::writer::WriterOptions::new(path).write_nifti(&array).unwrap();
    }

    let loaded = [
        ("directory", load(&slices)),
        ("zip", load(&archive)),
        ("tiff", load(&tiff8)),
        (
            "raw",
            volume::load(
                &raw,
                VolumeSource::Raw { dims: DIMS, sample: RawType::U8 },
                DecodeLimits::default(),
            ),
        ),
        ("nii", load(&nifti_plain)),
        ("nii.gz", load(&nifti_gz)),
    ];
    let expected = cpu().volume(&reference, &VolumeParams::default(), &Silent, &mut Vec::new());
    let (expected, iso) = expected.unwrap();
    assert!(iso.fract() == 0.5 && iso > 0.0 && iso < 255.0, "Otsu lands on a half step: {iso}");
    // Two populations: Otsu's threshold separates them.
    let two = Volume::new(
        [4, 4, 4],
        Voxels::U8((0..64).map(|i| if i % 3 == 0 { 200 } else { 40 }).collect()),
    );
    let threshold = two.otsu_threshold();
    assert!(threshold > 40.0 && threshold <= 200.0, "{threshold}");
    assert_closed_manifold("ball", &expected);
    for (label, volume) in loaded {
        let volume = volume.unwrap_or_else(|e| panic!("{label}: {e}"));
        assert_eq!(volume.dims, DIMS, "{label}");
        assert_eq!(volume.voxels, reference.voxels, "{label}: samples");
        let (mesh, _) =
            cpu().volume(&volume, &VolumeParams::default(), &Silent, &mut Vec::new()).unwrap();
        assert_eq!(mesh.triangles, expected.triangles, "{label}: same mesh");
    }
}

#[test]
fn sixteen_bit_and_float_stacks_keep_their_precision() {
    let dir = output_dir("volumes");
    let samples = ball();
    let page = |z: usize| plane(&samples, z).iter().map(|&v| f32::from(v) / 255.0).collect();
    let path = dir.join("stack32f.tif");
    write_tiff_stack(&path, DIMS[2], page, "f32");
    let volume = load(&path).unwrap();
    let Voxels::F32(values) = &volume.voxels else { panic!("float pages stay float") };
    assert_eq!(values[0], f32::from(samples[0]) / 255.0);

    let path = dir.join("stack16.tif");
    let page = |z: usize| plane(&samples, z).iter().map(|&v| f32::from(v)).collect();
    write_tiff_stack(&path, DIMS[2], page, "u16");
    let volume = load(&path).unwrap();
    let Voxels::U16(values) = &volume.voxels else { panic!("16-bit pages stay 16-bit") };
    let expected: Vec<u16> = samples.iter().map(|&v| u16::from(v) * 257).collect();
    assert_eq!(values, &expected);
}

#[test]
fn nifti_spacing_and_orientation_come_from_the_header() {
    let dir = output_dir("volumes");
    let samples = ball();
    let [nx, ny, nz] = DIMS;
    let array = ndarray::Array3::from_shape_fn((nx, ny, nz), |(x, y, z)| {
        f32::from(samples[(z * ny + y) * nx + x])
    });
    // 0.5 x 0.5 x 2 mm voxels, x flipped (a radiological left-right), via the sform.
    let header = nifti::NiftiHeader {
        pixdim: [1.0, 0.5, 0.5, 2.0, 1.0, 1.0, 1.0, 1.0],
        sform_code: 1,
        srow_x: [-0.5, 0.0, 0.0, 10.0],
        srow_y: [0.0, 0.5, 0.0, 0.0],
        srow_z: [0.0, 0.0, 2.0, 0.0],
        xyzt_units: 2, // millimetres
        ..Default::default()
    };
    let path = dir.join("oriented.nii");
    nifti::writer::WriterOptions::new(&path).reference_header(&header).write_nifti(&array).unwrap();
    let volume = load(&path).unwrap();
    assert_eq!(volume.spacing_mm, [0.5, 0.5, 2.0]);
    assert_eq!(volume.orientation[0], [-1.0, 0.0, 0.0], "x runs the other way");
    let params = VolumeParams { iso: Some(127.5), ..Default::default() };
    let (mesh, _) = cpu().volume(&volume, &params, &Silent, &mut Vec::new()).unwrap();
    // The reflection flips the winding back, so the mesh stays closed and outward.
    let topology = assert_closed_manifold("oriented", &mesh);
    assert_eq!(topology.euler, 2);
    let (lo, hi) = mesh.bounds();
    assert_eq!(lo, [0.0; 3], "moved to the origin");
    // The ball is 14 voxels across (radius 7 where the samples cross 127.5).
    let size = [0, 1, 2].map(|k| hi[k] - lo[k]);
    for (k, spacing) in [0.5, 0.5, 2.0].iter().enumerate() {
        let voxels = size[k] / spacing;
        assert!((voxels - 14.0).abs() < 0.6, "axis {k}: {voxels} voxels across");
    }
    let (volume_mm3, _) = crate::mesh_checks::volume_and_area(&mesh, |p| p.map(f64::from));
    let expected = 4.0 / 3.0 * std::f64::consts::PI * 7.0f64.powi(3) * 0.5 * 0.5 * 2.0;
    assert!((volume_mm3 / expected - 1.0).abs() < 0.05, "{volume_mm3} vs {expected}");

    // --spacing-mm overrides the header.
    let params = VolumeParams { spacing_mm: Some([1.0, 1.0, 1.0]), ..params };
    let (mesh, _) = cpu().volume(&volume, &params, &Silent, &mut Vec::new()).unwrap();
    let (lo, hi) = mesh.bounds();
    assert!((hi[2] - lo[2] - 14.0).abs() < 0.6);
}

#[test]
fn crop_and_largest_component_keep_what_was_asked() {
    let [nx, ny, nz] = DIMS;
    // The ball plus one separate voxel-sized speck in a corner.
    let mut samples = ball();
    samples[(2 * ny + 2) * nx + 2] = 255;
    let volume = Volume::new(DIMS, Voxels::U8(samples));
    let engine = cpu();
    let iso = Some(127.5);
    let whole = VolumeParams { iso, ..Default::default() };
    let (mesh, _) = engine.volume(&volume, &whole, &Silent, &mut Vec::new()).unwrap();
    assert_eq!(assert_closed_manifold("ball and speck", &mesh).components, 2);
    let largest = VolumeParams { largest_component: true, ..whole };
    let (mesh, _) = engine.volume(&volume, &largest, &Silent, &mut Vec::new()).unwrap();
    assert_eq!(assert_closed_manifold("largest", &mesh).components, 1);
    assert!(mesh.bounds().1[0] > 10.0, "the ball stayed, the speck went");

    // Half the ball: the cut face is closed too.
    let crop = Crop { lo: [0, 0, 0], hi: [nx, ny, 8] };
    let half = VolumeParams { crop: Some(crop), ..largest };
    let (mesh, _) = engine.volume(&volume, &half, &Silent, &mut Vec::new()).unwrap();
    assert_eq!(assert_closed_manifold("half", &mesh).euler, 2);
    let (lo, hi) = mesh.bounds();
    assert!(hi[2] - lo[2] < 8.5);

    let outside = VolumeParams { crop: Some(Crop { lo: [0; 3], hi: [nx, ny, nz + 1] }), ..whole };
    let error = engine.volume(&volume, &outside, &Silent, &mut Vec::new()).unwrap_err();
    assert!(error.is_invalid_parameter(), "{error}");
    assert!(error.to_string().contains("crop"), "{error}");
}

#[test]
fn malformed_volumes_get_specific_errors() {
    let dir = output_dir("volumes-bad");
    let [nx, ny, _] = DIMS;
    let samples = ball();

    let mixed = dir.join("mixed");
    std::fs::create_dir_all(&mixed).unwrap();
    std::fs::write(mixed.join("s1.png"), png(plane(&samples, 0), nx, ny)).unwrap();
    std::fs::write(mixed.join("s2.png"), png(&samples[..nx * (ny - 1)], nx, ny - 1)).unwrap();
    let e = load(&mixed).unwrap_err();
    assert!(matches!(e, EngineError::SliceSizeMismatch { index: 2, .. }), "{e}");
    assert!(e.to_string().contains("s2.png") && e.to_string().contains("same size"), "{e}");

    let empty = dir.join("empty.zip");
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&empty).unwrap());
    zip.start_file("notes.txt", zip::write::SimpleFileOptions::default()).unwrap();
    zip.write_all(b"no images here").unwrap();
    zip.finish().unwrap();
    let e = load(&empty).unwrap_err();
    assert!(matches!(e, EngineError::NoSlices(_)), "{e}");

    let broken_zip = dir.join("broken.zip");
    std::fs::write(&broken_zip, b"PK\x03\x04 this is not really an archive").unwrap();
    assert!(matches!(load(&broken_zip).unwrap_err(), EngineError::CorruptArchive(_)));

    let bad_slice = dir.join("bad-slice");
    std::fs::create_dir_all(&bad_slice).unwrap();
    std::fs::write(bad_slice.join("1.png"), png(plane(&samples, 0), nx, ny)).unwrap();
    std::fs::write(bad_slice.join("2.png"), &png(plane(&samples, 1), nx, ny)[..60]).unwrap();
    let e = load(&bad_slice).unwrap_err();
    assert!(matches!(e, EngineError::BadSlice { index: 2, .. }), "{e}");

    let raw = dir.join("short.raw");
    std::fs::write(&raw, &samples[..samples.len() - 10]).unwrap();
    let source = VolumeSource::Raw { dims: DIMS, sample: RawType::U8 };
    let e = volume::load(&raw, source, DecodeLimits::default()).unwrap_err();
    assert!(matches!(e, EngineError::RawSizeMismatch { .. }), "{e}");
    assert!(e.to_string().contains("truncated"), "{e}");
    let source = VolumeSource::Raw { dims: [4096, 4096, 4096], sample: RawType::F32 };
    let e = volume::load(&raw, source, DecodeLimits::default()).unwrap_err();
    assert!(matches!(e, EngineError::VolumeTooLarge { .. }), "{e}");

    let rgb = dir.join("rgb.nii");
    let array = ndarray::Array3::from_elem((4, 4, 4), [1u8, 2, 3]);
    nifti::writer::WriterOptions::new(&rgb).write_rgb_nifti(&array).unwrap();
    let e = load(&rgb).unwrap_err();
    assert!(matches!(e, EngineError::UnsupportedNifti(128)), "{e}");
    assert!(e.to_string().contains("float32"), "{e}");

    let text = dir.join("notes.txt");
    std::fs::write(&text, "hello").unwrap();
    assert!(matches!(load(&text).unwrap_err(), EngineError::UnsupportedVolume(_)));

    // A volume that never reaches the isovalue has no surface to write.
    let volume = Volume::new(DIMS, Voxels::U8(samples));
    let params = VolumeParams { iso: Some(1000.0), ..Default::default() };
    let (mesh, _) = cpu().volume(&volume, &params, &Silent, &mut Vec::new()).unwrap();
    let out = dir.join("empty.stl");
    let e = cpu()
        .write_indexed(&mesh, lithos_engine::MeshFormat::Stl, &out, &Silent, &mut Vec::new())
        .unwrap_err();
    assert!(matches!(e, EngineError::EmptySurface), "{e}");
    assert!(!out.exists(), "no file for an empty surface");
}
