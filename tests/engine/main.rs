//! Engine and CLI integration tests: one binary, one module per feature.
//!
//! Engine tests are written once and run on both backends: the CPU path and the GPU path on
//! whatever adapter wgpu finds (lavapipe in CI). A machine with no adapter fails the GPU tests
//! unless `LITHOS_SKIP_GPU_TESTS=1` says so out loud.

mod adaptive;
mod adaptive_bent;
mod banded;
mod cli;
mod decode;
mod dicom;
mod exports;
mod formats;
mod fuzz_corpora;
mod generated;
mod helpers;
mod isosurface;
mod kernel_times;
mod kernel_twins;
mod mesh_checks;
mod meshes;
mod models;
mod modes;
mod nifti;
mod outlines;
mod output_checks;
mod palette;
mod parity;
mod previews;
mod shaders;
mod shapes;
mod solids;
mod text;
mod thumbnails;
mod tiling;
mod volumes;
