//! The engine's error type: each variant says what went wrong in words a user can act on.

use std::io;
use std::path::PathBuf;

use crate::params::ParamError;

/// Why a conversion failed.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// A parameter is out of range. The caller's input is at fault (HTTP 422, CLI exit 2).
    #[error("invalid parameter {0}")]
    InvalidParameter(#[from] ParamError),

    #[error("cannot read the input: {0}")]
    ReadInput(#[source] io::Error),

    #[error(
        "the file is not an image Lithos can read ({0}); use PNG, JPEG, WebP, TIFF, BMP or GIF"
    )]
    UnsupportedFormat(String),

    #[error("the image is corrupt or truncated ({0}); export it again from the original")]
    CorruptImage(String),

    #[error(
        "the image is {width}x{height} pixels ({megapixels:.1} megapixels), above the limit of \
         {limit_megapixels:.1} megapixels; scale it down first"
    )]
    TooManyPixels { width: u32, height: u32, megapixels: f64, limit_megapixels: f64 },

    #[error(
        "decoding the image would need more than {limit_mib} MiB of memory; scale it down or \
         save it with fewer bits per channel"
    )]
    TooMuchMemory { limit_mib: u64 },

    #[error("the image is {width}x{height} pixels; it must be at least 2x2")]
    TooSmall { width: u32, height: u32 },

    #[error(
        "the image has no alpha channel, so an alpha mask would be empty; use a threshold mask"
    )]
    NoAlpha,

    #[error(
        "the mask leaves no material: no 2x2 block of pixels passes the threshold {threshold}; \
         lower the threshold or invert the image"
    )]
    EmptyMask { threshold: f32 },

    #[error(
        "no GPU adapter was found; install a Vulkan driver (for example Debian's \
         mesa-vulkan-drivers) or use the CPU backend"
    )]
    NoGpu,

    #[error("the GPU failed: {0}")]
    Gpu(String),

    #[error("cannot write the output: {0}")]
    WriteOutput(#[source] io::Error),

    #[error("the output directory {} does not exist; create it or choose another path", .0.display())]
    MissingOutputDir(PathBuf),

    #[error("the volume is empty: it has no voxels")]
    EmptyVolume,

    #[error(
        "the mesh would have more than 4 billion vertices; raise the isovalue, smooth the \
         volume, or crop it"
    )]
    MeshTooLarge,

    #[error("the conversion was canceled")]
    Canceled,
}

impl EngineError {
    /// True when the caller's input is at fault rather than the file or the machine.
    pub fn is_invalid_parameter(&self) -> bool {
        matches!(self, EngineError::InvalidParameter(_))
    }
}

pub type Result<T, E = EngineError> = std::result::Result<T, E>;
