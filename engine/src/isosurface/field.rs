//! Scalar fields: anything that can hand out planes of voxel values as `f32`.

/// A 3-D grid of values, read a few planes at a time so that large volumes never need to be
/// held as `f32` whole.
pub trait ScalarField: Sync {
    /// Voxels along x, y and z.
    fn dims(&self) -> [usize; 3];

    /// Writes voxel planes `z0..z1` into `out`, x fastest then y.
    fn read_planes(&self, z0: usize, z1: usize, out: &mut [f32]);
}

/// Consecutive voxel planes of a field.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SlabValues {
    /// The first plane's z.
    pub z0: usize,
    pub data: Vec<f32>,
}

impl SlabValues {
    pub fn read(field: &dyn ScalarField, z0: usize, z1: usize) -> Self {
        let [nx, ny, _] = field.dims();
        let mut data = vec![0.0; nx * ny * (z1 - z0)];
        field.read_planes(z0, z1, &mut data);
        Self { z0, data }
    }
}
