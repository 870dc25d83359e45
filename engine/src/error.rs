//! The engine's error type: each variant says what went wrong in words a user can act on.
//!
//! A message names a parameter as the API spells it, in backticks (`max_grid`); the CLI
//! rewrites each such name as its flag (`--max-grid`), so both surfaces read naturally.

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

    #[error(
        "the surface is empty: no voxel reaches the isovalue, or all do; choose another \
         isovalue (`iso`) or check the crop (`crop`)"
    )]
    EmptySurface,

    #[error(
        "the solid would need {voxels} voxels at {pitch_mm} mm each; lower the resolution \
         (`max_grid`) or the depth (`depth_mm`)"
    )]
    SolidTooLarge { voxels: u64, pitch_mm: f32 },

    #[error("the volume is empty: it has no voxels")]
    EmptyVolume,

    #[error(
        "{0} is not a volume Lithos can read; use a multi-page TIFF, a ZIP or directory of \
         numbered PNG/TIFF slices or of DICOM files, a DICOM file, NIfTI (.nii, .nii.gz), or a \
         raw file with `raw_dims` and `raw_type`"
    )]
    UnsupportedVolume(String),

    #[error("{0} contains no PNG, TIFF or DICOM slices")]
    NoSlices(String),

    #[error(
        "{0} is not a DICOM file (it has no DICM marker after its 128-byte preamble); remove it, \
         or export the series from the scanner or PACS again"
    )]
    NotDicom(String),

    #[error("the DICOM file {name} is corrupt or truncated ({reason}); export the series again")]
    CorruptDicom { name: String, reason: String },

    #[error(
        "the input holds {} DICOM series; choose one with `series`, by its Series Instance \
         UID: {}",
        series.len(), crate::volume::dicom::list(series)
    )]
    SeveralSeries { series: Vec<crate::volume::SeriesSummary> },

    #[error(
        "the input holds no DICOM series {uid}; it holds: {}",
        crate::volume::dicom::list(series)
    )]
    NoSuchSeries { uid: String, series: Vec<crate::volume::SeriesSummary> },

    #[error(
        "the DICOM file {name} is compressed as {syntax}, which Lithos cannot decode{detail}; it \
         reads uncompressed, deflated, RLE Lossless, JPEG Lossless and 8-bit JPEG baseline or \
         extended series, so export it in one of those"
    )]
    DicomTransferSyntax { name: String, syntax: String, detail: String },

    #[error("{0}; Lithos reads greyscale DICOM images of 8, 16 or 32 bits a sample")]
    UnsupportedDicom(String),

    #[error("the DICOM series cannot be stacked into a volume: {0}")]
    DicomGeometry(String),

    #[error(
        "the {slices} slices of the DICOM series are unevenly spaced: neighbours are {min_mm:.3} \
         to {max_mm:.3} mm apart, so a slice is missing or the series mixes acquisitions; \
         Lithos does not resample, so export the complete series"
    )]
    DicomGaps { min_mm: f64, max_mm: f64, slices: usize },

    #[error("slice {index} ({name}) cannot be read: {reason}")]
    BadSlice { index: usize, name: String, reason: String },

    #[error(
        "slice {index} ({name}) is {}x{} pixels but the first slice is {}x{}; every slice \
         must be the same size",
        size.0, size.1, first.0, first.1
    )]
    SliceSizeMismatch { index: usize, name: String, size: (usize, usize), first: (usize, usize) },

    #[error("the ZIP archive is corrupt ({0}); create it again")]
    CorruptArchive(String),

    #[error(
        "the ZIP archive expands to {declared_mib} MiB, above the {limit_mib} MiB a volume may \
         take; crop or downsample the volume, or send fewer slices"
    )]
    ZipBomb { declared_mib: u64, limit_mib: u64 },

    #[error(
        "the raw file has {actual} bytes but {}x{}x{} {sample} samples need {expected}; check \
         `raw_dims` and `raw_type` (the file may be truncated)",
        dims[0], dims[1], dims[2]
    )]
    RawSizeMismatch { dims: [usize; 3], sample: &'static str, expected: u64, actual: u64 },

    #[error("the volume file is corrupt: {0}")]
    CorruptVolume(String),

    #[error(
        "NIfTI datatype code {0} is not supported; save the volume as uint8, int8, int16, \
         uint16, int32, uint32, int64, uint64, float32 or float64"
    )]
    UnsupportedNifti(i16),

    #[error(
        "the NIfTI file's volume is {shape:?}; Lithos reads 3-D volumes and 4-D series (one \
         volume at a time, chosen with `frame`)"
    )]
    NiftiShape { shape: Vec<usize> },

    #[error(
        "a {}x{}x{} volume needs more than the {limit_mib} MiB allowed; crop or downsample it",
        dims[0], dims[1], dims[2]
    )]
    VolumeTooLarge { dims: [usize; 3], limit_mib: u64 },

    #[error(
        "the mesh would have more than 4 billion vertices; raise the isovalue, smooth the \
         volume, or crop it"
    )]
    MeshTooLarge,

    #[error("the {format} file is corrupt or truncated ({reason}); export it again")]
    CorruptModel { format: &'static str, reason: String },

    #[error("the {0} file holds no triangles; export the model's surface")]
    EmptyModel(&'static str),

    #[error(
        "the 3D file is {mib} MiB, above the {limit_mib} MiB allowed; simplify the model or \
         send it compressed as 3MF or GLB"
    )]
    ModelFileTooLarge { mib: u64, limit_mib: u64 },

    #[error(
        "the model has more than {limit} triangles ({triangles} counted); simplify (decimate) \
         it in your modelling program"
    )]
    TooManyTriangles { triangles: u64, limit: u64 },

    #[error(
        "the 3MF package expands to {declared_mib} MiB, above the {limit_mib} MiB allowed; \
         simplify the model"
    )]
    ModelZipBomb { declared_mib: u64, limit_mib: u64 },

    /// The output failed its check ([`crate::check`]): a defect in Lithos, not the input.
    #[error(
        "the mesh made is not printable ({problems}), so it was not saved; please report this \
         with the input and its settings"
    )]
    FailedCheck { problems: String },

    /// A 3D file's mesh failed its check: as read (`repair` off), or still after repair.
    #[error(
        "the model is not printable {} ({problems}), so it was not saved; {}",
        if *.repaired { "even after repair" } else { "as it is" },
        if *.repaired {
            "separate or join the pieces that touch in a modelling program, then send it again"
        } else {
            "turn on `repair`, which closes holes and orients faces"
        }
    )]
    ModelNotPrintable { problems: String, repaired: bool },

    #[error(
        "the file is not a font Lithos can read ({0}); use a TrueType or OpenType font (.ttf, .otf)"
    )]
    NotAFont(String),

    #[error(
        "{font} has no letter for \"{ch}\" (U+{:04X}); leave it out, or upload a font that \
         has it",
        u32::from(*ch)
    )]
    MissingGlyph { ch: char, font: String },

    #[error(
        "the text would need {voxels} voxels at {pitch_mm} mm each; make it smaller \
         (`letter_height_mm`) or shorter, or raise the grid spacing (`pixel_mm`)"
    )]
    TextTooLarge { voxels: u64, pitch_mm: f32 },

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
