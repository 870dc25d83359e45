//! The grid stages as band loops over planes held in memory, run the same way on either backend.
//!
//! Each driver cuts its output into bands of rows that fit the backend's limits, hands the band
//! (and the input rows it reads) to one kernel call, and stitches the results.

use rayon::prelude::*;

use crate::backend::Backend;
use crate::cpu::resample::axis_span;
use crate::decode::SourceImage;
use crate::error::{EngineError, Result};
use crate::isosurface::SlabValues;
use crate::kernels::{
    BlurConfig, LuminanceConfig, ResampleConfig, ThicknessConfig, VolumeBlurConfig,
};

/// A plane of `f32` samples, row-major.
#[derive(Clone, Debug, PartialEq)]
pub struct Plane {
    pub width: u32,
    pub height: u32,
    pub data: Vec<f32>,
}

impl Plane {
    fn zeroed(width: u32, height: u32) -> Self {
        Self { width, height, data: vec![0.0; width as usize * height as usize] }
    }

    fn rows(&self, y0: u32, y1: u32) -> &[f32] {
        &self.data[y0 as usize * self.width as usize..y1 as usize * self.width as usize]
    }

    fn rows_mut(&mut self, y0: u32, y1: u32) -> &mut [f32] {
        let w = self.width as usize;
        &mut self.data[y0 as usize * w..y1 as usize * w]
    }

    /// Smallest and largest sample.
    pub fn range(&self) -> (f32, f32) {
        self.data
            .par_iter()
            .fold(|| (f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| (lo.min(v), hi.max(v)))
            .reduce(|| (f32::INFINITY, f32::NEG_INFINITY), |a, b| (a.0.min(b.0), a.1.max(b.1)))
    }
}

/// Rows per band when each row needs `row_bytes` in the largest binding, that binding also
/// holds `extra_rows` rows of halo, and each row is `invocations_per_row` invocations.
pub(crate) fn rows_per_band(
    backend: &Backend,
    budget_bytes: u64,
    total_rows: u32,
    row_bytes: u64,
    extra_rows: u32,
    invocations_per_row: u64,
) -> Result<u32> {
    let by_bytes = (budget_bytes / row_bytes.max(1)).saturating_sub(u64::from(extra_rows));
    let by_invocations = backend.max_invocations() / invocations_per_row.max(1);
    let rows = by_bytes.min(by_invocations).min(u64::from(total_rows));
    if rows == 0 {
        return Err(EngineError::Gpu(format!(
            "one row of the grid ({row_bytes} bytes, {invocations_per_row} invocations) does not \
             fit this GPU's limits ({budget_bytes} bytes per buffer, {} invocations per \
             dispatch); use a smaller grid or the CPU backend",
            backend.max_invocations()
        )));
    }
    Ok(rows as u32)
}

/// Bands `[y0, y1)` covering `0..total` in steps of `rows`.
fn bands(total: u32, rows: u32) -> impl Iterator<Item = (u32, u32)> {
    (0..total).step_by(rows as usize).map(move |y0| (y0, (y0 + rows).min(total)))
}

/// Luminance, and alpha when `want_alpha`, at the image's own size.
pub(crate) fn luminance(
    backend: &Backend,
    image: &SourceImage,
    want_alpha: bool,
) -> Result<(Plane, Option<Plane>)> {
    let (w, h, channels) = (image.width(), image.height(), image.channels());
    let row_bytes = u64::from(w) * u64::from(channels) * 4;
    let rows = rows_per_band(backend, backend.band_bytes(), h, row_bytes, 0, u64::from(w))?;
    let mut luma = Plane::zeroed(w, h);
    let mut alpha = want_alpha.then(|| Plane::zeroed(w, h));
    let mut scratch = Vec::new();
    let mut pixels = Vec::new();
    for (y0, y1) in bands(h, rows) {
        image.rows(y0, y1, &mut pixels);
        let config = LuminanceConfig { count: (y1 - y0) * w, channels, ..Default::default() };
        let alpha_band = match alpha.as_mut() {
            Some(alpha) => alpha.rows_mut(y0, y1),
            None => {
                scratch.resize(config.count as usize, 0.0);
                &mut scratch[..]
            }
        };
        backend.luminance(&config, &pixels, luma.rows_mut(y0, y1), alpha_band)?;
    }
    Ok((luma, alpha))
}

/// `src` resampled to `width` x `height`; the plane itself when the size already matches.
pub(crate) fn resample(backend: &Backend, src: Plane, width: u32, height: u32) -> Result<Plane> {
    if (src.width, src.height) == (width, height) {
        return Ok(src);
    }
    let scale_x = ((f64::from(src.width) - 1.0) / (f64::from(width) - 1.0)) as f32;
    let scale_y = ((f64::from(src.height) - 1.0) / (f64::from(height) - 1.0)) as f32;
    let source_rows = |y0: u32, y1: u32| {
        let lo = axis_span(y0 as f32 * scale_y, scale_y, src.height).0 as u32;
        let hi = axis_span((y1 - 1) as f32 * scale_y, scale_y, src.height).1 as u32;
        (lo, hi + 1)
    };
    // Each output row reads about `scale_y` source rows; size bands by the larger binding.
    let src_row_bytes = u64::from(src.width) * 4;
    let rows_per_src = f64::from(scale_y).max(1.0);
    let budget = backend.band_bytes();
    let mut rows = rows_per_band(backend, budget, height, u64::from(width) * 4, 0, width.into())?;
    while rows > 0 {
        let needed = (f64::from(rows + 1) * rows_per_src).ceil() as u64 + 3;
        if needed * src_row_bytes <= budget {
            break;
        }
        rows /= 2;
    }
    if rows == 0 {
        return Err(EngineError::Gpu(format!(
            "resampling {} rows of {} pixels at once does not fit this GPU's limits; use a \
             smaller grid or the CPU backend",
            rows_per_src.ceil(),
            src.width
        )));
    }
    let mut dst = Plane::zeroed(width, height);
    for (y0, y1) in bands(height, rows) {
        let (lo, hi) = source_rows(y0, y1);
        let config = ResampleConfig {
            count: (y1 - y0) * width,
            src_width: src.width,
            src_height: src.height,
            src_row0: lo,
            dst_width: width,
            dst_row0: y0,
            scale_x,
            scale_y,
        };
        backend.resample(&config, src.rows(lo, hi), dst.rows_mut(y0, y1))?;
    }
    Ok(dst)
}

/// Normalised Gaussian weights for `sigma` pixels, radius `ceil(3 sigma)`.
pub(crate) fn gaussian_weights(sigma: f32) -> Vec<f32> {
    let radius = (3.0 * f64::from(sigma)).ceil() as i64;
    let two_s2 = 2.0 * f64::from(sigma) * f64::from(sigma);
    let raw: Vec<f64> = (-radius..=radius).map(|d| (-((d * d) as f64) / two_s2).exp()).collect();
    let total: f64 = raw.iter().sum();
    raw.iter().map(|w| (w / total) as f32).collect()
}

/// Gaussian blur of `sigma` grid pixels; the plane itself when `sigma` is 0.
pub(crate) fn blur(backend: &Backend, src: Plane, sigma: f32) -> Result<Plane> {
    if sigma <= 0.0 {
        return Ok(src);
    }
    let weights = gaussian_weights(sigma);
    let radius = (weights.len() / 2) as u32;
    let (w, h) = (src.width, src.height);
    let row_bytes = u64::from(w) * 4;
    let budget = backend.band_bytes();
    let mut across = Plane::zeroed(w, h);
    let rows = rows_per_band(backend, budget, h, row_bytes, 0, w.into())?;
    for (y0, y1) in bands(h, rows) {
        let config = blur_config(w, h, 0, radius, y0, y0, y1);
        backend.blur(&config, &weights, src.rows(y0, y1), across.rows_mut(y0, y1))?;
    }
    let mut down = src;
    let rows = rows_per_band(backend, budget, h, row_bytes, 2 * radius, w.into())?;
    for (y0, y1) in bands(h, rows) {
        let (lo, hi) = (y0.saturating_sub(radius), (y1 + radius).min(h));
        let config = blur_config(w, h, 1, radius, lo, y0, y1);
        backend.blur(&config, &weights, across.rows(lo, hi), down.rows_mut(y0, y1))?;
    }
    Ok(down)
}

fn blur_config(
    w: u32,
    h: u32,
    axis: u32,
    radius: u32,
    src_row0: u32,
    y0: u32,
    y1: u32,
) -> BlurConfig {
    BlurConfig {
        count: (y1 - y0) * w,
        width: w,
        height: h,
        axis,
        radius,
        src_row0,
        dst_row0: y0,
        ..Default::default()
    }
}

/// Thickness in millimetres and the inside mask per vertex. `config` carries everything but
/// the band fields.
pub(crate) fn thickness(
    backend: &Backend,
    luma: &Plane,
    alpha: Option<&Plane>,
    config: ThicknessConfig,
) -> Result<(Plane, Vec<u32>)> {
    let (w, h) = (luma.width, luma.height);
    let rows = rows_per_band(backend, backend.band_bytes(), h, u64::from(w) * 4, 0, w.into())?;
    let mut thickness = Plane::zeroed(w, h);
    let mut inside = vec![0u32; w as usize * h as usize];
    for (y0, y1) in bands(h, rows) {
        let band = ThicknessConfig { count: (y1 - y0) * w, row0: y0, ..config };
        let alpha = alpha.map_or(&[0.0][..], |a| a.rows(y0, y1));
        let inside_band = &mut inside[y0 as usize * w as usize..y1 as usize * w as usize];
        backend.thickness(
            &band,
            luma.rows(y0, y1),
            alpha,
            thickness.rows_mut(y0, y1),
            inside_band,
        )?;
    }
    Ok((thickness, inside))
}

/// Gaussian smoothing of `sigma` voxels of a block of voxel planes, along x, y and z in turn.
pub(crate) fn smooth_volume(
    backend: &Backend,
    values: &mut SlabValues<'_>,
    dims: [usize; 3],
    sigma: f32,
) -> Result<()> {
    let weights = gaussian_weights(sigma);
    let plane = dims[0] * dims[1];
    let mut config = VolumeBlurConfig {
        count: values.data.len() as u32,
        nx: dims[0] as u32,
        ny: dims[1] as u32,
        nz: (values.data.len() / plane) as u32,
        radius: (weights.len() / 2) as u32,
        ..Default::default()
    };
    let mut data = std::mem::take(&mut values.data).into_owned();
    let mut scratch = vec![0.0; data.len()];
    for axis in 0..3 {
        config.axis = axis;
        backend.volume_blur(&config, &weights, &data, &mut scratch)?;
        std::mem::swap(&mut data, &mut scratch);
    }
    values.data = data.into();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::gaussian_weights;

    #[test]
    fn gaussian_weights_are_normalised_symmetric_and_three_sigma_wide() {
        let w = gaussian_weights(2.0);
        assert_eq!(w.len(), 13);
        assert!((w.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert!(w.iter().zip(w.iter().rev()).all(|(a, b)| a == b));
        assert!(w[6] > w[5] && w[5] > w[0]);
    }
}
