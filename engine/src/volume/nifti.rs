//! NIfTI-1 (`.nii`, `.nii.gz`): every scalar datatype in either byte order, the standard's
//! scaling, 4-D series one frame at a time, streamed from the file in 1 MiB chunks.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use super::load::{append, check_size};
use crate::error::{EngineError, Result};
use crate::volume::{IDENTITY, Rescale, Volume, Voxels};

/// Reads a NIfTI-1 file (`.nii`, `.nii.gz`): every scalar datatype in either byte order, its
/// `scl_slope` and `scl_inter` as the standard says (a slope of 0 or NaN is no scaling), and
/// of a 4-D series the volume `frame`.
pub(super) fn read(path: &Path, frame: usize, max_bytes: u64) -> Result<Volume> {
    use nifti::{Endianness, NiftiType};
    let bad = |e: nifti::NiftiError| EngineError::CorruptVolume(format!("NIfTI: {e}"));
    let gz = is_gzip(path)?;
    // Check the header before reading the samples.
    let header = if gz {
        nifti::NiftiHeader::from_reader(flate2::read::GzDecoder::new(
            File::open(path).map_err(EngineError::ReadInput)?,
        ))
    } else {
        nifti::NiftiHeader::from_file(path)
    }
    .map_err(bad)?;
    let rank = usize::from(header.dim[0]);
    let extent = |k: usize| usize::from(header.dim[k]).max(1);
    if !(1..=7).contains(&rank) || (rank > 4 && (5..=rank).any(|k| extent(k) > 1)) {
        return Err(EngineError::NiftiShape {
            shape: header.dim[1..=rank.clamp(1, 7)].iter().map(|&d| usize::from(d)).collect(),
        });
    }
    let dims = [1, 2, 3].map(|k| if k <= rank { extent(k) } else { 1 });
    let frames = if rank >= 4 { extent(4) } else { 1 };
    if frame >= frames {
        return Err(EngineError::InvalidParameter(crate::ParamError::new(
            "frame",
            format!(
                "the NIfTI file holds {frames} volume{} (frames 0 to {}); got {frame}",
                if frames == 1 { "" } else { "s" },
                frames - 1
            ),
        )));
    }
    let datatype =
        header.data_type().map_err(|_| EngineError::UnsupportedNifti(header.datatype))?;
    // Kept in memory as: u8, u16 and i16 as they are (i8 widened to i16), the rest as f32.
    let kept_bytes = match datatype {
        NiftiType::Uint8 => 1,
        NiftiType::Int8 | NiftiType::Int16 | NiftiType::Uint16 => 2,
        NiftiType::Int32
        | NiftiType::Uint32
        | NiftiType::Int64
        | NiftiType::Uint64
        | NiftiType::Float32
        | NiftiType::Float64 => 4,
        _ => return Err(EngineError::UnsupportedNifti(header.datatype)),
    };
    check_size(dims, kept_bytes, max_bytes)?;

    // The frame's samples, streamed from the file and converted a chunk at a time: the
    // file's bytes are never all in memory beside the samples they become.
    let file = BufReader::new(File::open(path).map_err(EngineError::ReadInput)?);
    let mut reader: Box<dyn Read> =
        if gz { Box::new(flate2::read::GzDecoder::new(file)) } else { Box::new(file) };
    let count: usize = dims.iter().product();
    let size = datatype.size_of();
    let short = || {
        EngineError::CorruptVolume(format!(
            "the NIfTI file ends before its samples do: its header says {}x{}x{} x {frames} \
             frames of {size}-byte samples",
            dims[0], dims[1], dims[2]
        ))
    };
    let skip = header.vox_offset.max(0.0) as u64 + (frame * count * size) as u64;
    let skipped = std::io::copy(&mut reader.by_ref().take(skip), &mut std::io::sink())
        .map_err(|e| EngineError::CorruptVolume(format!("NIfTI: {e}")))?;
    if skipped != skip {
        return Err(short());
    }
    let big = header.endianness == Endianness::Big;
    let mut voxels: Option<Voxels> = None;
    let mut left = count * size;
    let mut chunk = vec![0u8; (1 << 20) / size * size];
    while left > 0 {
        let want = left.min(chunk.len());
        reader.read_exact(&mut chunk[..want]).map_err(|_| short())?;
        append(&mut voxels, nifti_samples(datatype, &chunk[..want], big));
        left -= want;
    }
    let voxels = voxels.ok_or_else(short)?;
    let (slope, intercept) = (header.scl_slope, header.scl_inter);
    // The standard: a slope of 0 means the samples are the values; readers treat NaN alike.
    let rescale = if slope == 0.0 || !slope.is_finite() {
        Rescale::IDENTITY
    } else {
        Rescale { slope, intercept: if intercept.is_finite() { intercept } else { 0.0 } }
    };
    let (spacing_mm, orientation) = nifti_geometry(&header);
    Ok(Volume { dims, spacing_mm, orientation, voxels, rescale, frames, series: None })
}

/// The samples of one NIfTI frame, `big`-endian or not, in the type they are kept in.
fn nifti_samples(datatype: nifti::NiftiType, bytes: &[u8], big: bool) -> Voxels {
    use nifti::NiftiType;
    fn each<const N: usize, T>(bytes: &[u8], big: bool, f: impl Fn([u8; N]) -> T) -> Vec<T> {
        bytes
            .chunks_exact(N)
            .map(|c| {
                let mut b: [u8; N] = c.try_into().expect("a chunk of N bytes");
                if big {
                    b.reverse();
                }
                f(b)
            })
            .collect()
    }
    match datatype {
        NiftiType::Uint8 => Voxels::U8(bytes.to_vec()),
        NiftiType::Int8 => Voxels::I16(bytes.iter().map(|&b| i16::from(b as i8)).collect()),
        NiftiType::Uint16 => Voxels::U16(each(bytes, big, u16::from_le_bytes)),
        NiftiType::Int16 => Voxels::I16(each(bytes, big, i16::from_le_bytes)),
        NiftiType::Int32 => Voxels::F32(each(bytes, big, |b| i32::from_le_bytes(b) as f32)),
        NiftiType::Uint32 => Voxels::F32(each(bytes, big, |b| u32::from_le_bytes(b) as f32)),
        NiftiType::Int64 => Voxels::F32(each(bytes, big, |b| i64::from_le_bytes(b) as f32)),
        NiftiType::Uint64 => Voxels::F32(each(bytes, big, |b| u64::from_le_bytes(b) as f32)),
        NiftiType::Float32 => Voxels::F32(each(bytes, big, f32::from_le_bytes)),
        _ => Voxels::F32(each(bytes, big, |b| f64::from_le_bytes(b) as f32)),
    }
}

fn is_gzip(path: &Path) -> Result<bool> {
    let mut magic = [0u8; 2];
    let mut file = File::open(path).map_err(EngineError::ReadInput)?;
    Ok(file.read(&mut magic).map_err(EngineError::ReadInput)? == 2 && magic == [0x1f, 0x8b])
}

/// Spacing in millimetres and unit axis directions, from the sform when it is set, else the
/// qform, else the voxel sizes alone.
fn nifti_geometry(header: &nifti::NiftiHeader) -> ([f32; 3], [[f32; 3]; 3]) {
    let unit_mm = match header.xyzt_units & 7 {
        1 => 1000.0, // metres
        3 => 0.001,  // micrometres
        _ => 1.0,
    };
    let pixdim = [1, 2, 3].map(|k| {
        let d = header.pixdim[k].abs();
        if d.is_finite() && d > 0.0 { d } else { 1.0 }
    });
    let finite = |m: &[[f32; 3]; 3]| m.iter().flatten().all(|v| v.is_finite());
    if header.sform_code > 0 {
        let columns = [0, 1, 2].map(|j| [header.srow_x[j], header.srow_y[j], header.srow_z[j]]);
        let lengths = columns.map(|c| (c[0] * c[0] + c[1] * c[1] + c[2] * c[2]).sqrt());
        if finite(&columns) && lengths.iter().all(|&l| l > 0.0) {
            let orientation = [0, 1, 2].map(|j| columns[j].map(|v| v / lengths[j]));
            return (lengths.map(|l| l * unit_mm), orientation);
        }
    }
    if header.qform_code > 0 {
        let (b, c, d) = (header.quatern_b, header.quatern_c, header.quatern_d);
        let a = (1.0 - (b * b + c * c + d * d)).max(0.0).sqrt();
        let qfac = if header.pixdim[0] < 0.0 { -1.0 } else { 1.0 };
        let rows = [
            [a * a + b * b - c * c - d * d, 2.0 * (b * c - a * d), 2.0 * (b * d + a * c)],
            [2.0 * (b * c + a * d), a * a + c * c - b * b - d * d, 2.0 * (c * d - a * b)],
            [2.0 * (b * d - a * c), 2.0 * (c * d + a * b), a * a + d * d - c * c - b * b],
        ];
        let orientation = [0, 1, 2].map(|j| {
            let s = if j == 2 { qfac } else { 1.0 };
            [rows[0][j] * s, rows[1][j] * s, rows[2][j] * s]
        });
        if finite(&orientation) {
            return (pixdim.map(|p| p * unit_mm), orientation);
        }
    }
    (pixdim.map(|p| p * unit_mm), IDENTITY)
}
