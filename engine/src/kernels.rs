//! The one table of compute kernels, and the uniform structs they share with WGSL.
//!
//! Every kernel is `shaders/<name>.wgsl` with a CPU twin in `cpu/<name>.rs` written loop for loop
//! like the shader. Adding a kernel means adding a row to [`KERNELS`] and its config struct here.
//! All kernels use one-dimensional indexing over `count` invocations in workgroups of
//! [`WORKGROUP_SIZE`]; the GPU folds that range into a 2D dispatch (see `gpu::dispatch_size`).

use bytemuck::{Pod, Zeroable};

/// Invocations per workgroup, the `@workgroup_size` of every kernel.
pub const WORKGROUP_SIZE: u32 = 256;

/// One compute kernel: its WGSL source and its uniform struct. Its CPU twin is
/// `engine/src/cpu/<name>.rs`.
#[derive(Debug)]
pub struct Kernel {
    /// File stem in `shaders/` and `engine/src/cpu/`.
    pub name: &'static str,
    /// The WGSL source, embedded at build time.
    pub source: &'static str,
    /// The uniform struct's name in WGSL, mirrored by a `#[repr(C)]` struct here.
    pub config_struct: &'static str,
    /// Size in bytes of that struct on the Rust side.
    pub config_size: usize,
    /// Its members, to compare with the WGSL struct's.
    pub config_fields: &'static [Field],
}

macro_rules! kernel {
    ($name:literal, $config:ty) => {
        Kernel {
            name: $name,
            source: include_str!(concat!("../../shaders/", $name, ".wgsl")),
            config_struct: stringify!($config),
            config_size: size_of::<$config>(),
            config_fields: <$config>::FIELDS,
        }
    };
}

pub const LUMINANCE: Kernel = kernel!("luminance", LuminanceConfig);
pub const RESAMPLE: Kernel = kernel!("resample", ResampleConfig);
pub const BLUR: Kernel = kernel!("blur", BlurConfig);
pub const THICKNESS: Kernel = kernel!("thickness", ThicknessConfig);
pub const TOP_SURFACE: Kernel = kernel!("top_surface", SurfaceConfig);
pub const RTIN_ERROR: Kernel = kernel!("rtin_error", RtinConfig);
pub const COLUMN_KEEP: Kernel = kernel!("column_keep", ColumnConfig);
pub const VOLUME_BLUR: Kernel = kernel!("volume_blur", VolumeBlurConfig);
pub const MC_CLASSIFY: Kernel = kernel!("mc_classify", McConfig);
pub const SCAN: Kernel = kernel!("scan", ScanConfig);
pub const SCAN_ADD: Kernel = kernel!("scan_add", ScanConfig);
pub const MC_COMPACT: Kernel = kernel!("mc_compact", McConfig);
pub const MC_VERTICES: Kernel = kernel!("mc_vertices", McConfig);
pub const MC_TRIANGLES: Kernel = kernel!("mc_triangles", McConfig);

/// Every kernel, in pipeline order: heightfields, then isosurfaces.
pub const KERNELS: [&Kernel; 14] = [
    &LUMINANCE,
    &RESAMPLE,
    &BLUR,
    &THICKNESS,
    &TOP_SURFACE,
    &RTIN_ERROR,
    &COLUMN_KEEP,
    &VOLUME_BLUR,
    &MC_CLASSIFY,
    &SCAN,
    &SCAN_ADD,
    &MC_COMPACT,
    &MC_VERTICES,
    &MC_TRIANGLES,
];

/// Declares a `#[repr(C)]` uniform struct that mirrors a WGSL struct, with [`Field`]s listing
/// each member's name, byte offset and scalar type, so a test can hold it against naga's
/// reading of the shader member by member.
macro_rules! wgsl_struct {
    (
        $(#[$meta:meta])*
        pub struct $name:ident { $( $(#[$fmeta:meta])* pub $field:ident: $ty:ident, )* }
    ) => {
        $(#[$meta])*
        #[repr(C)]
        #[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
        pub struct $name { $( $(#[$fmeta])* pub $field: $ty, )* }

        impl $name {
            pub const FIELDS: &'static [Field] = &[$(
                Field {
                    name: stringify!($field),
                    offset: std::mem::offset_of!($name, $field),
                    ty: stringify!($ty),
                },
            )*];
        }
    };
}

/// One member of a uniform struct: its name, byte offset, and WGSL scalar type (`u32`, `f32`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Field {
    pub name: &'static str,
    pub offset: usize,
    pub ty: &'static str,
}

wgsl_struct! {
    /// Mirrors `LuminanceConfig` in `shaders/luminance.wgsl`.
    pub struct LuminanceConfig {
        pub count: u32,
        pub channels: u32,
        pub _pad0: u32,
        pub _pad1: u32,
    }
}

wgsl_struct! {
    /// Mirrors `ResampleConfig` in `shaders/resample.wgsl`.
    pub struct ResampleConfig {
        pub count: u32,
        pub src_width: u32,
        pub src_height: u32,
        pub src_row0: u32,
        pub dst_width: u32,
        pub dst_row0: u32,
        pub scale_x: f32,
        pub scale_y: f32,
    }
}

wgsl_struct! {
    /// Mirrors `BlurConfig` in `shaders/blur.wgsl`.
    pub struct BlurConfig {
        pub count: u32,
        pub width: u32,
        pub height: u32,
        /// 0 blurs along rows, 1 along columns.
        pub axis: u32,
        pub radius: u32,
        pub src_row0: u32,
        pub dst_row0: u32,
        pub _pad0: u32,
    }
}

wgsl_struct! {
    /// Mirrors `ThicknessConfig` in `shaders/thickness.wgsl`.
    pub struct ThicknessConfig {
        pub count: u32,
        pub width: u32,
        pub height: u32,
        pub row0: u32,
        /// 0: no mask, 1: alpha, 2: threshold on the toned value.
        pub mask: u32,
        pub invert: u32,
        pub level_lo: f32,
        pub level_hi: f32,
        pub gamma: f32,
        pub threshold: f32,
        pub base_mm: f32,
        pub span_mm: f32,
        pub pitch_mm: f32,
        pub frame_mm: f32,
        pub frame_thickness_mm: f32,
        /// 0: linear, 1: transmittance (Beer-Lambert with `td_mm`).
        pub model: u32,
        pub td_mm: f32,
        /// `OUTLINE_*`: what the panel is cut to.
        pub outline: u32,
        /// Circle and oval: the semi-axis across; heart: millimetres per heart unit.
        pub outline_a: f32,
        /// Circle and oval: the semi-axis down; heart: the point's distance from the top.
        pub outline_b: f32,
        /// The hanger hole's centre, this far below the top; its radius (0: no hole), and
        /// the collar around it, solid at `collar_thickness_mm` out to `collar_r_mm`.
        pub hanger_y_mm: f32,
        pub hanger_r_mm: f32,
        pub collar_r_mm: f32,
        pub collar_thickness_mm: f32,
    }
}

wgsl_struct! {
    /// Mirrors `RtinConfig` in `shaders/rtin_error.wgsl`: one level of the adaptive mesher's
    /// error pyramid (see `mesh::adaptive`).
    pub struct RtinConfig {
        pub count: u32,
        /// Points per side of the padded square grid, `2^k + 1`.
        pub size: u32,
        /// The side of this level's squares, in grid steps.
        pub square: u32,
        /// Squares per side: `(size - 1) / square`.
        pub squares: u32,
        /// 0: the squares' centres, each splitting two triangles cut by a diagonal; 1: the
        /// midpoints of their sides, each splitting the triangles from a side to two centres.
        pub odd: u32,
        /// A midpoint whose finer errors already exceed this skips its own scan: above the
        /// mesher's bound an error need not be exact, only above it.
        pub cap: u32,
        /// 1: a midpoint whose children's errors plus its own distance from its hypotenuse
        /// stay within `cap` stores that sum, an upper bound, without scanning its triangles.
        /// Whether each stored error exceeds `cap` is still exactly as scanning finds.
        pub estimate: u32,
        pub _pad1: u32,
    }
}

wgsl_struct! {
    /// Mirrors `ColumnConfig` in `shaders/column_keep.wgsl`: which points each column of an
    /// adaptive bent panel keeps (see `mesh::adaptive::columns`).
    pub struct ColumnConfig {
        pub width: u32,
        pub height: u32,
        /// The bound, in height steps.
        pub bound: u32,
        /// A row every column keeps (a foot's first), or `u32::MAX` for none.
        pub forced: u32,
        /// 1: the first and last columns keep every row (an arc's walls close them).
        pub walled: u32,
        pub _pad0: u32,
        pub _pad1: u32,
        pub _pad2: u32,
    }
}

/// `RtinConfig` points: a grid point no solid cell touches.
pub const POINT_OUTSIDE: u32 = 0;
/// `RtinConfig` points: a grid point on the outline, between solid and empty cells.
pub const POINT_RIM: u32 = 1;
/// `RtinConfig` points: a grid point whose four cells are all solid.
pub const POINT_INTERIOR: u32 = 2;
/// The error of a triangle that must be split whatever the bound: it holds both solid and
/// empty cells, or a point of the outline other than its corners.
pub const ERROR_FORCED: u32 = u32::MAX;

/// `ThicknessConfig::outline`: the whole grid.
pub const OUTLINE_RECT: u32 = 0;
/// `ThicknessConfig::outline`: an ellipse with semi-axes `outline_a` and `outline_b`.
pub const OUTLINE_ELLIPSE: u32 = 1;
/// `ThicknessConfig::outline`: a heart (Inigo Quilez's exact distance), `outline_a` mm a unit.
pub const OUTLINE_HEART: u32 = 2;

/// `ThicknessConfig::model`: thickness linear in the toned value.
pub const MODEL_LINEAR: u32 = 0;
/// `ThicknessConfig::model`: transmitted light linear in the toned value.
pub const MODEL_TRANSMITTANCE: u32 = 1;

wgsl_struct! {
    /// Mirrors `SurfaceConfig` in `shaders/top_surface.wgsl`.
    pub struct SurfaceConfig {
        pub count: u32,
        pub width: u32,
        pub height: u32,
        pub row0: u32,
        pub pitch_mm: f32,
        pub _pad0: u32,
        pub _pad1: u32,
        pub _pad2: u32,
    }
}

/// `ThicknessConfig::mask` values.
pub const MASK_NONE: u32 = 0;
pub const MASK_ALPHA: u32 = 1;
pub const MASK_THRESHOLD: u32 = 2;

/// 32-bit words the top-surface kernel writes per cell: two 50-byte STL records.
pub const WORDS_PER_CELL: usize = 25;
/// Bytes per cell of top-surface output.
pub const BYTES_PER_CELL: usize = WORDS_PER_CELL * 4;

wgsl_struct! {
    /// Mirrors `VolumeBlurConfig` in `shaders/volume_blur.wgsl`.
    pub struct VolumeBlurConfig {
        pub count: u32,
        pub nx: u32,
        pub ny: u32,
        pub nz: u32,
        /// 0, 1 or 2: x, y or z.
        pub axis: u32,
        pub radius: u32,
        pub _pad0: u32,
        pub _pad1: u32,
    }
}

wgsl_struct! {
    /// Mirrors `McConfig` in `shaders/mc_classify.wgsl`, `mc_compact.wgsl`, `mc_vertices.wgsl` and
    /// `mc_triangles.wgsl`.
    pub struct McConfig {
        pub count: u32,
        /// Padded grid points along x and y, and along z for the whole grid.
        pub npx: u32,
        pub npy: u32,
        pub npz: u32,
        /// The slab's first point plane and its number of point planes.
        pub p0: u32,
        pub planes: u32,
        /// Unpadded voxels, and the first voxel plane in the slab's values.
        pub nx: u32,
        pub ny: u32,
        pub nz: u32,
        pub z0: u32,
        pub iso: f32,
        /// The slab's first vertex number.
        pub base: u32,
    }
}

wgsl_struct! {
    /// Mirrors `ScanConfig` in `shaders/scan.wgsl` and `shaders/scan_add.wgsl`.
    pub struct ScanConfig {
        pub count: u32,
        pub _pad0: u32,
        pub _pad1: u32,
        pub _pad2: u32,
    }
}
