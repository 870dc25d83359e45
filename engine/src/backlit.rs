//! What a lithophane shows lit from behind: the light each point of the panel lets through,
//! by the same Beer-Lambert model the transmittance thickness model inverts (`t` mm pass
//! `10^(-t / td)`), relative to the light through its thinnest part, `min_mm`. A linear
//! lithophane is shown with the default filament (`defaults::TD_MM`), so the two models can be
//! compared before printing.

use image::GrayImage;

use crate::Millimetres;
use crate::job::defaults::TD_MM;
use crate::mesh::Heightfield;
use crate::params::{Light, Mode};

/// The longest side of a preview, in pixels; larger grids are averaged down.
pub const MAX_SIDE: u32 = 1024;

/// The backlit view of a lithophane's thickness map (`None` for reliefs): one grey level per
/// block of grid vertices, 255 for the light through `min_mm`; a dome's as the image's circle,
/// black around it.
pub fn backlit(hf: &Heightfield, mode: &Mode) -> Option<GrayImage> {
    let Mode::Lithophane { min_mm, light, .. } = *mode else { return None };
    let light = match light {
        Light::Linear => Light::Transmittance {
            td_mm: Millimetres::new(TD_MM).expect("the default TD is a length"),
        },
        physical => physical,
    };
    let brightest = light.passes(min_mm.get());
    // A dome's grid is the disc's parametrisation: its picture is the image's circle.
    let unmapped = hf.bend.and_then(|bend| bend.dome).map(|dome| dome.image_map(hf));
    let hf = unmapped.as_ref().unwrap_or(hf);
    let step = hf.width.max(hf.height).div_ceil(MAX_SIDE).max(1);
    let (w, h) = (hf.width.div_ceil(step), hf.height.div_ceil(step));
    Some(GrayImage::from_fn(w, h, |px, py| {
        let (x0, y0) = (px * step, py * step);
        let (x1, y1) = ((x0 + step).min(hf.width), (y0 + step).min(hf.height));
        let mut sum = 0.0f32;
        for y in y0..y1 {
            let row = &hf.thickness[(y * hf.width) as usize..][..hf.width as usize];
            sum += row[x0 as usize..x1 as usize].iter().map(|&t| light.passes(t)).sum::<f32>();
        }
        let mean = sum / ((x1 - x0) * (y1 - y0)) as f32;
        image::Luma([(mean / brightest * 255.0).round().clamp(0.0, 255.0) as u8])
    }))
}

/// A backlit view as PNG bytes, compressed for speed.
pub fn png(image: &GrayImage) -> Vec<u8> {
    crate::thumbnail::encode_png(
        image.as_raw(),
        image.width(),
        image.height(),
        image::ExtendedColorType::L8,
    )
}
