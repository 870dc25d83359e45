//! Volumes to isosurfaces, and writing indexed meshes (volumes and solids).

use std::io::Write;
use std::path::Path;

use crate::stl::MeshStats;
use crate::{
    Engine, EngineError, IndexedMesh, IsoOptions, MeshFormat, Progress, Result, ScalarField, Stage,
    StageTime, Volume, VolumeParams, export, isosurface, stages, stl, timed,
};

impl Engine {
    /// Reads a volume and meshes its isosurface, in millimetres with its corner at the origin.
    /// Returns the mesh and the isovalue used.
    pub fn volume(
        &self,
        volume: &Volume,
        params: &VolumeParams,
        progress: &dyn Progress,
        times: &mut Vec<StageTime>,
    ) -> Result<(IndexedMesh, f32)> {
        params.validate()?;
        let cropped;
        let volume = match params.crop {
            Some(crop) => {
                crop.check(volume.dims)?;
                cropped = volume.crop(crop.lo, crop.hi);
                &cropped
            }
            None => volume,
        };
        let iso = params.iso.unwrap_or_else(|| volume.otsu_threshold());
        let options = IsoOptions { smooth_voxels: params.smooth_voxels, ..IsoOptions::new(iso) };
        let mut mesh = timed(Stage::Isosurface, progress, times, || {
            self.isosurface(volume, &options, progress)
        })?;
        if params.largest_component {
            mesh.keep_largest_component();
        }
        let spacing = params.spacing_mm.unwrap_or(volume.spacing_mm);
        let r = volume.orientation;
        mesh.transform(|p| {
            let s = [0, 1, 2].map(|k| p[k] * spacing[k]);
            [0, 1, 2].map(|i| r[0][i] * s[0] + r[1][i] * s[1] + r[2][i] * s[2])
        });
        let det = r[0][0] * (r[1][1] * r[2][2] - r[2][1] * r[1][2])
            - r[1][0] * (r[0][1] * r[2][2] - r[2][1] * r[0][2])
            + r[2][0] * (r[0][1] * r[1][2] - r[1][1] * r[0][2]);
        if det < 0.0 {
            mesh.reflect();
        }
        mesh.move_to_origin();
        Ok((mesh, iso))
    }

    /// Marching cubes over `field`: a closed, welded mesh in voxel coordinates.
    pub fn isosurface(
        &self,
        field: &dyn ScalarField,
        options: &IsoOptions,
        progress: &dyn Progress,
    ) -> Result<IndexedMesh> {
        let backend = &self.backend;
        if field.dims().contains(&0) {
            return Err(EngineError::EmptyVolume);
        }
        isosurface::extract(
            field,
            options,
            backend.slab_bytes(),
            |values, dims, _| stages::smooth_volume(backend, values, dims, options.smooth_voxels),
            |slab, base, mesh| backend.marching_cubes(slab, base, mesh),
            progress,
        )
    }

    /// Writes an indexed mesh to `output`, replaced only on success.
    pub fn write_indexed(
        &self,
        mesh: &IndexedMesh,
        format: MeshFormat,
        output: &Path,
        progress: &dyn Progress,
        times: &mut Vec<StageTime>,
    ) -> Result<MeshStats> {
        stl::write_file_atomically(output, |file| {
            self.write_indexed_to(mesh, format, &export::Meta::default(), file, progress, times)
        })
    }

    /// Writes an indexed mesh to `out` (a file, an upload).
    pub fn write_indexed_to<W: Write>(
        &self,
        mesh: &IndexedMesh,
        format: MeshFormat,
        meta: &export::Meta,
        out: W,
        progress: &dyn Progress,
        times: &mut Vec<StageTime>,
    ) -> Result<MeshStats> {
        if mesh.triangles.is_empty() {
            return Err(EngineError::EmptySurface);
        }
        timed(Stage::Mesh, progress, times, || {
            export::write_indexed_with(mesh, format, meta, out).map_err(EngineError::WriteOutput)
        })
    }
}
