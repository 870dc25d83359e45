//! Volumes to isosurfaces, and writing indexed meshes (volumes and solids).

use std::io::Write;
use std::path::Path;
use std::time::Instant;

use crate::stl::MeshStats;
use crate::{
    DecodeLimits, Engine, EngineError, IndexedMesh, IsoOptions, MeshFormat, Progress, Report,
    Result, ScalarField, Stage, StageTime, Volume, VolumeParams, VolumeSource, export, isosurface,
    read_input, stages, stl, timed, volume,
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
            self.write_indexed_to(mesh, format, file, progress, times)
        })
    }

    /// Writes an indexed mesh to `out` (a file, an upload).
    pub fn write_indexed_to<W: Write>(
        &self,
        mesh: &IndexedMesh,
        format: MeshFormat,
        out: W,
        progress: &dyn Progress,
        times: &mut Vec<StageTime>,
    ) -> Result<MeshStats> {
        if mesh.triangles.is_empty() {
            return Err(EngineError::EmptySurface);
        }
        timed(Stage::Mesh, progress, times, || {
            export::write_indexed(mesh, format, out).map_err(EngineError::WriteOutput)
        })
    }

    /// Reads the volume at `input` and writes its isosurface to `output`, replaced only on
    /// success.
    #[expect(clippy::too_many_arguments, reason = "each argument is a separate user choice")]
    pub fn convert_volume(
        &self,
        input: &Path,
        source: VolumeSource,
        limits: DecodeLimits,
        params: &VolumeParams,
        format: MeshFormat,
        output: &Path,
        progress: &dyn Progress,
    ) -> Result<Report> {
        params.validate()?;
        let (start, mut times, volume) =
            read_input(progress, || volume::load(input, source, limits))?;
        let (mesh, iso) = self.volume(&volume, params, progress, &mut times)?;
        let dims = params.crop.map_or(volume.dims, |c| [0, 1, 2].map(|k| c.hi[k] - c.lo[k]));
        drop(volume);
        self.indexed_report(start, mesh, format, output, progress, times, dims, Some(iso))
    }

    #[expect(clippy::too_many_arguments, reason = "the parts of one report")]
    pub(crate) fn indexed_report(
        &self,
        start: Instant,
        mesh: IndexedMesh,
        format: MeshFormat,
        output: &Path,
        progress: &dyn Progress,
        mut times: Vec<StageTime>,
        dims: [usize; 3],
        iso: Option<f32>,
    ) -> Result<Report> {
        let stats = self.write_indexed(&mesh, format, output, progress, &mut times)?;
        let (lo, hi) = mesh.bounds();
        Ok(Report {
            triangles: stats.triangles,
            bytes: stats.bytes,
            backend: self.backend(),
            adapter: self.adapter.clone(),
            seconds: start.elapsed().as_secs_f64(),
            stages: times,
            grid: [dims[0] as u32, dims[1] as u32],
            size_mm: [0, 1, 2].map(|k| hi[k] - lo[k]),
            vertices: Some(mesh.positions.len() as u64),
            voxels: Some(dims.map(|d| d as u32)),
            iso,
        })
    }
}
