//! Reliefs and lithophanes: the grid stages, then the mesh streamed to its writer.

use std::io::Write;

use crate::kernels::{
    MASK_ALPHA, MASK_NONE, MASK_THRESHOLD, MODEL_LINEAR, MODEL_TRANSMITTANCE, ThicknessConfig,
};
use crate::mesh::{Bend, Columns, Dome, Feet, Surface};
use crate::palette::Plan;
use crate::params::{Detail, Light, Mode, Shape};
use crate::stl::MeshStats;
use crate::{
    Cells, ConvertParams, Engine, EngineError, Heightfield, MaskSource, MeshFormat, Progress,
    Result, SourceImage, Stage, StageTime, export, mesh, stages, stl, timed,
};

impl Engine {
    /// Stages 2 to 4: the thickness map and solid cells of `image` under `params`.
    pub fn heightfield(
        &self,
        image: &SourceImage,
        params: &ConvertParams,
        progress: &dyn Progress,
        times: &mut Vec<StageTime>,
    ) -> Result<Heightfield> {
        Ok(self.planned_heightfield(image, params, progress, times)?.0)
    }

    /// [`Engine::heightfield`], with a palette relief's layers planned ([`crate::palette`])
    /// and its heights snapped to them.
    pub fn planned_heightfield(
        &self,
        image: &SourceImage,
        params: &ConvertParams,
        progress: &dyn Progress,
        times: &mut Vec<StageTime>,
    ) -> Result<(Heightfield, Option<Plan>)> {
        self.heightfield_from(Source::Image(image), params, progress, times)
    }

    /// [`Engine::planned_heightfield`] from either kind of [`Source`].
    pub(crate) fn heightfield_from(
        &self,
        source: Source<'_>,
        params: &ConvertParams,
        progress: &dyn Progress,
        times: &mut Vec<StageTime>,
    ) -> Result<(Heightfield, Option<Plan>)> {
        let (gw, gh, pitch_mm, mut thickness, inside) =
            self.grid(source, params, progress, times)?;
        let plan = match params.mode {
            Mode::Relief { base_mm, relief_mm, layers: Some(layers) } => {
                Some(layers.apply(&mut thickness.data, &inside, base_mm.get(), relief_mm.get())?)
            }
            _ => None,
        };
        let cells = Cells::from_inside(&inside, gw, gh);
        let mut hf = Heightfield {
            width: gw,
            height: gh,
            pitch_mm,
            thickness: thickness.data,
            cells,
            bend: None,
            surface: None,
            columns: None,
        };
        hf.bend = match params.shape {
            Shape::Cylinder { bottom_ring_mm, top_ring_mm, .. } => {
                add_rings(&mut hf, top_ring_mm, bottom_ring_mm);
                Bend::of(&hf, params.shape)?
            }
            Shape::Flat { feet: true, .. } => {
                let pitch = hf.pitch_mm;
                let rows = Feet::rows((hf.height - 1) as f32 * pitch, pitch);
                add_rings(&mut hf, 0.0, rows as f32 * pitch);
                Some(Bend::standing(&hf, rows))
            }
            Shape::Dome { .. } => {
                Dome::remap(&mut hf);
                Bend::of(&hf, params.shape)?
            }
            shape => Bend::of(&hf, shape)?,
        };
        if hf.cells.solid_count() == 0 {
            let threshold = params.mask.map_or(0.0, |m| m.threshold);
            return Err(EngineError::EmptyMask { threshold });
        }
        timed(Stage::Simplify, progress, times, || self.simplify(&mut hf, params.detail))?;
        Ok((hf, plan))
    }

    /// Gives `hf` the adaptive surface `detail` asks for ([`crate::mesh::adaptive`]): a flat
    /// panel's top surface, or a bent panel's columns. [`Detail::Full`], or a dome, keeps the
    /// full grid.
    pub fn simplify(&self, hf: &mut Heightfield, detail: Detail) -> Result<()> {
        let bend = hf.bend.filter(|b| b.dome.is_none());
        match (detail, hf.bend, bend) {
            (Detail::Full, ..) | (_, Some(_), None) => {}
            (Detail::MaxErrorMm(mm), None, _) => {
                hf.surface = Surface::within(&self.backend, hf, mm.into())?;
            }
            (Detail::MaxTriangles(n), None, _) => {
                hf.surface = Some(Surface::fitting(&self.backend, hf, n)?);
            }
            (Detail::MaxErrorMm(mm), _, Some(bend)) => {
                hf.columns = Some(Columns::within(&self.backend, hf, &bend, mm.into())?);
            }
            (Detail::MaxTriangles(n), _, Some(bend)) => {
                hf.columns = Some(Columns::fitting(&self.backend, hf, &bend, n)?);
            }
        }
        Ok(())
    }

    /// Stages 2 to 4 on the grid: its size and pitch, the thickness map, and which grid
    /// vertices the mask keeps (1) or drops (0).
    pub(crate) fn grid(
        &self,
        source: Source<'_>,
        params: &ConvertParams,
        progress: &dyn Progress,
        times: &mut Vec<StageTime>,
    ) -> Result<(u32, u32, f32, stages::Plane, Vec<u32>)> {
        params.validate()?;
        let alpha_mask = matches!(params.mask, Some(m) if m.source == MaskSource::Alpha);
        if alpha_mask && !source.has_alpha() {
            return Err(EngineError::NoAlpha);
        }
        let backend = &self.backend;
        let (gw, gh) = params.grid_dimensions(source.width(), source.height());
        params.checked_pitch_mm(gw, gh)?;
        let is_float = match &source {
            Source::Image(image) => image.is_float(),
            Source::Rows(rows) => rows.is_float(),
        };
        let (luma, alpha) = match source {
            Source::Image(image) => {
                let (luma, alpha) = timed(Stage::Luminance, progress, times, || {
                    stages::luminance(backend, image, alpha_mask)
                })?;
                timed(Stage::Resample, progress, times, || {
                    let alpha = alpha.map(|a| stages::resample(backend, a, gw, gh)).transpose()?;
                    Ok((stages::resample(backend, luma, gw, gh)?, alpha))
                })?
            }
            // Read, turned into luminance and resampled a row at a time, as one stage.
            Source::Rows(rows) => timed(Stage::Resample, progress, times, || {
                rows.resample(gw, gh, alpha_mask, &|| progress.check_canceled())
            })?,
        };
        let luma = timed(Stage::Blur, progress, times, || {
            stages::blur(backend, luma, params.tone.blur_px)
        })?;
        let pitch_mm = params.pitch_mm(gw);
        let (thickness, inside) = timed(Stage::Thickness, progress, times, || {
            let config = thickness_config(params, is_float, &luma, gw, gh, pitch_mm)?;
            stages::thickness(backend, &luma, alpha.as_ref(), config)
        })?;
        Ok((gw, gh, pitch_mm, thickness, inside))
    }

    /// Stage 5 and 6: streams the mesh of `hf` to `out`.
    pub fn write_mesh<W: Write + Send>(
        &self,
        hf: &Heightfield,
        format: MeshFormat,
        out: W,
        progress: &dyn Progress,
    ) -> Result<MeshStats> {
        self.write_mesh_with(hf, format, &export::Meta::default(), out, progress)
    }

    /// [`Engine::write_mesh`] with what the file says about itself.
    pub fn write_mesh_with<W: Write + Send>(
        &self,
        hf: &Heightfield,
        format: MeshFormat,
        meta: &export::Meta,
        out: W,
        progress: &dyn Progress,
    ) -> Result<MeshStats> {
        progress.check_canceled()?;
        if let Some(bend) = hf.bend {
            let curved = mesh::Curved::new(hf, bend);
            if format.is_indexed() {
                return export::write_parts(&curved, format, meta, out)
                    .map_err(EngineError::WriteOutput);
            }
            let triangles = curved.triangles();
            return stl::stream(format, out, triangles, |feed| {
                mesh::stream_triangles(feed, &mut |push| curved.each_triangle(push))
            });
        }
        if format.is_indexed() {
            let parts = mesh::IndexedHeightfield::new(hf);
            return export::write_parts(&parts, format, meta, out)
                .map_err(EngineError::WriteOutput);
        }
        let triangles = hf.triangle_count();
        stl::stream(format, out, triangles, |feed| mesh::stream(&self.backend, hf, feed, progress))
    }
}

/// Where a grid's pixels come from.
pub(crate) enum Source<'a> {
    /// An image decoded whole.
    Image(&'a SourceImage),
    /// A PNG, TIFF or JPEG larger than its grid, read a row at a time ([`crate::banded`]).
    Rows(crate::banded::Rows<'a>),
}

impl Source<'_> {
    fn width(&self) -> u32 {
        match self {
            Source::Image(image) => image.width(),
            Source::Rows(rows) => rows.width(),
        }
    }

    fn height(&self) -> u32 {
        match self {
            Source::Image(image) => image.height(),
            Source::Rows(rows) => rows.height(),
        }
    }

    fn has_alpha(&self) -> bool {
        match self {
            Source::Image(image) => image.has_alpha(),
            Source::Rows(rows) => rows.has_alpha(),
        }
    }
}

/// Solid rows of the thickest thickness above and below the image: a cylinder's rings, the
/// bottom one to stand on and to fit a lamp base.
fn add_rings(hf: &mut Heightfield, top_mm: f32, bottom_mm: f32) {
    let rows = |mm: f32| (mm / hf.pitch_mm).round() as u32;
    let (top, bottom) = (rows(top_mm), rows(bottom_mm));
    if top + bottom == 0 {
        return;
    }
    let thickest = hf.thickness.iter().copied().fold(0.0, f32::max);
    let w = hf.width as usize;
    let mut thickness = vec![thickest; top as usize * w];
    thickness.extend_from_slice(&hf.thickness);
    thickness.resize(thickness.len() + bottom as usize * w, thickest);
    hf.thickness = thickness;
    hf.height += top + bottom;
    hf.cells = Cells::Full { width: hf.width - 1, height: hf.height - 1 };
}

fn thickness_config(
    params: &ConvertParams,
    is_float: bool,
    luma: &stages::Plane,
    width: u32,
    height: u32,
    pitch_mm: f32,
) -> Result<ThicknessConfig> {
    // Float images carry their own units (metres of elevation, say): stretch them to 0..1
    // unless they already lie there.
    let (mut lo, mut hi) = (0.0, 1.0);
    if params.tone.auto_levels || is_float {
        let (min, max) = luma.range();
        if params.tone.auto_levels || min < 0.0 || max > 1.0 {
            (lo, hi) = (min, max);
        }
    }
    let (base_mm, span_mm, frame_mm, frame_thickness_mm) = match params.mode {
        Mode::Relief { base_mm, relief_mm, .. } => (base_mm.get(), relief_mm.get(), 0.0, 0.0),
        Mode::Lithophane { min_mm, max_mm, frame, .. } => {
            let (fw, ft) = frame.map_or((0.0, 0.0), |f| (f.width_mm.get(), f.thickness_mm.get()));
            (max_mm.get(), min_mm.get() - max_mm.get(), fw, ft)
        }
    };
    let (model, td_mm) = match params.mode {
        Mode::Lithophane { light: Light::Transmittance { td_mm }, .. } => {
            (MODEL_TRANSMITTANCE, td_mm.get())
        }
        _ => (MODEL_LINEAR, 0.0),
    };
    let (mask, threshold) = match params.mask {
        None => (MASK_NONE, 0.0),
        Some(m) if m.source == MaskSource::Alpha => (MASK_ALPHA, m.threshold),
        Some(m) => (MASK_THRESHOLD, m.threshold),
    };
    let mut config = ThicknessConfig {
        width,
        height,
        mask,
        invert: u32::from(params.tone.invert),
        level_lo: lo,
        level_hi: hi,
        gamma: params.tone.gamma,
        threshold,
        base_mm,
        span_mm,
        pitch_mm,
        frame_mm,
        frame_thickness_mm,
        model,
        td_mm,
        ..Default::default()
    };
    // A hanger's collar is as thick as the frame, or as the thickest the image makes.
    let collar_mm = match params.mode {
        Mode::Relief { base_mm, relief_mm, .. } => base_mm.get() + relief_mm.get(),
        Mode::Lithophane { max_mm, frame, .. } => {
            frame.map_or(max_mm.get(), |f| f.thickness_mm.get())
        }
    };
    super::outline::configure(&mut config, params.shape, collar_mm)?;
    Ok(config)
}
