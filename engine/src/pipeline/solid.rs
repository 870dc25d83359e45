//! Solids from an image's mask: the grid stages, a distance field, marching cubes.

use crate::solid::{self, SolidField};
use crate::{
    ConvertParams, Engine, EngineError, IndexedMesh, IsoOptions, MAX_SOLID_VOXELS, MaskSource,
    Progress, Result, SolidParams, SourceImage, Stage, StageTime, params, timed, work,
};

impl Engine {
    /// A closed solid from the mask of `image` (alpha when it has one and `params` names no
    /// mask, else a brightness threshold), in millimetres with its bottom at z = 0.
    pub fn solid(
        &self,
        image: &SourceImage,
        params: &ConvertParams,
        solid: &SolidParams,
        progress: &dyn Progress,
        times: &mut Vec<StageTime>,
    ) -> Result<IndexedMesh> {
        solid.validate()?;
        let mut params = *params;
        if params.mask.is_none() {
            let source = if image.has_alpha() { MaskSource::Alpha } else { MaskSource::Threshold };
            params.mask = Some(params::Mask { source, threshold: 0.5 });
        }
        let (gw, gh, pitch_mm, _, inside) =
            self.grid(super::heightfield::Source::Image(image), &params, progress, times)?;
        let inside: Vec<bool> = inside.iter().map(|&i| i != 0).collect();
        if !inside.contains(&true) {
            let threshold = params.mask.map_or(0.0, |m| m.threshold);
            return Err(EngineError::EmptyMask { threshold });
        }
        // Checked before the field exists, in saturating arithmetic: a tiny pitch must not
        // wrap the count into a small number.
        let dims = work::solid_dims(gw, gh, work::solid_layers(solid.depth_mm.get(), pitch_mm));
        let voxels = dims.iter().fold(1u64, |acc, &d| acc.saturating_mul(d));
        if voxels > MAX_SOLID_VOXELS {
            return Err(EngineError::SolidTooLarge { voxels, pitch_mm });
        }
        let field = timed(Stage::Field, progress, times, || {
            Ok(SolidField::new(&inside, gw as usize, gh as usize, pitch_mm, *solid))
        })?;
        let mut mesh = timed(Stage::Isosurface, progress, times, || {
            self.isosurface(&field, &IsoOptions::new(0.0), progress)
        })?;
        // Voxel centres to millimetres, image rows running down becoming y running up.
        let margin = solid::MARGIN as f32;
        let top = (gh as f32 - 1.0 + margin) * pitch_mm;
        mesh.transform(|[x, y, z]| {
            [(x - margin) * pitch_mm, top - y * pitch_mm, field.z_mm(0) + z * pitch_mm]
        });
        mesh.reflect();
        Ok(mesh)
    }
}
