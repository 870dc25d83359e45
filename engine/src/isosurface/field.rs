//! Scalar fields: anything that can hand out planes of voxel values as `f32`.

use std::borrow::Cow;

/// A 3-D grid of values, read a few planes at a time so that large volumes never need to be
/// held as `f32` whole.
pub trait ScalarField: Sync {
    /// Voxels along x, y and z.
    fn dims(&self) -> [usize; 3];

    /// Writes voxel planes `z0..z1` into `out`, x fastest then y.
    fn read_planes(&self, z0: usize, z1: usize, out: &mut [f32]);

    /// Planes `z0..z1` without a copy, when the field already holds them as `f32`.
    fn borrow_planes(&self, _z0: usize, _z1: usize) -> Option<&[f32]> {
        None
    }
}

/// Consecutive voxel planes of a field.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SlabValues<'a> {
    /// The first plane's z.
    pub z0: usize,
    pub data: Cow<'a, [f32]>,
}

impl<'a> SlabValues<'a> {
    pub fn read(field: &'a dyn ScalarField, z0: usize, z1: usize) -> Self {
        if let Some(data) = field.borrow_planes(z0, z1) {
            return Self { z0, data: Cow::Borrowed(data) };
        }
        let [nx, ny, _] = field.dims();
        let mut data = vec![0.0; nx * ny * (z1 - z0)];
        field.read_planes(z0, z1, &mut data);
        Self { z0, data: Cow::Owned(data) }
    }
}
