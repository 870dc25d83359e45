//! CPU twins of the WGSL kernels in `shaders/`, one module per kernel with the same name.
//!
//! Each twin takes the same config struct and the same buffers, in the same order, as the
//! shader's bindings, and its `main` is the shader's `main` for one invocation index. The outer
//! loop runs those invocations in parallel with rayon.
//!
//! The marching-cubes kernels (`mc_classify`, `scan`, `scan_add`, `mc_compact`,
//! `mc_vertices`, `mc_triangles`) have twins too, run one invocation after another: they are
//! the references a test compares each GPU kernel with, so a disagreement names the kernel.
//! The CPU backend meshes with [`marching_cubes`], flying edges, which makes the same mesh
//! in the same order much faster.

pub mod blur;
pub mod column_keep;
pub mod luminance;
pub mod marching_cubes;
pub mod mc_classify;
pub mod mc_compact;
pub mod mc_triangles;
pub mod mc_vertices;
pub mod resample;
pub mod rtin_error;
pub mod scan;
pub mod scan_add;
pub mod thickness;
pub mod top_surface;
pub mod volume_blur;

use rayon::prelude::*;

/// Runs a reference twin's `main` for invocations `0..count`, one after another, as a test
/// compares it with its kernel.
pub fn each_invocation(count: u32, mut main: impl FnMut(u32)) {
    for index in 0..count {
        main(index);
    }
}

/// Invocations handed to one rayon task: large enough to amortise scheduling.
const CHUNK: usize = 4096;

/// Runs `main(index, out)` for every index of `out`, in parallel: one invocation per element.
fn for_each_invocation<T: Send>(out: &mut [T], main: impl Fn(usize, &mut T) + Sync) {
    out.par_chunks_mut(CHUNK).enumerate().for_each(|(chunk, items)| {
        let base = chunk * CHUNK;
        for (k, item) in items.iter_mut().enumerate() {
            main(base + k, item);
        }
    });
}

/// Like [`for_each_invocation`] for a kernel with two outputs of one element per invocation.
fn for_each_invocation2<A: Send, B: Send>(
    a: &mut [A],
    b: &mut [B],
    main: impl Fn(usize) -> (A, B) + Sync,
) {
    a.par_chunks_mut(CHUNK).zip(b.par_chunks_mut(CHUNK)).enumerate().for_each(|(chunk, (a, b))| {
        let base = chunk * CHUNK;
        for (k, (a, b)) in a.iter_mut().zip(b.iter_mut()).enumerate() {
            (*a, *b) = main(base + k);
        }
    });
}
