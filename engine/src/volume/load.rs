//! Reading volumes: what the input is (by its content), multi-page TIFF, a directory or ZIP of
//! numbered image slices, and raw little-endian dumps; DICOM series (`dicom.rs`) and NIfTI
//! (`nifti.rs`) have their own modules. Each malformed input gets its own error.

use std::fs::File;
use std::io::{BufReader, Read, Seek};
use std::path::Path;

use crate::decode::{self, DecodeLimits};
use crate::error::{EngineError, Result};
use crate::volume::dicom::{self, Files};
use crate::volume::{SeriesUid, Volume, Voxels};

/// Sample type of a raw volume.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RawType {
    U8,
    U16,
    F32,
}

crate::names::named!(RawType, "raw_type" { U8 => "u8", U16 => "u16", F32 => "f32" });

impl RawType {
    pub fn bytes(self) -> usize {
        match self {
            RawType::U8 => 1,
            RawType::U16 => 2,
            RawType::F32 => 4,
        }
    }
}

/// Where a volume comes from; everything but raw dumps is recognised from its content.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VolumeSource {
    /// A multi-page TIFF, a ZIP of slices, a NIfTI file, or a directory of slices.
    Detect,
    /// Headerless samples, x fastest, little-endian.
    Raw { dims: [usize; 3], sample: RawType },
}

/// Which volume of an input that holds several.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Part {
    /// The volume of a 4-D NIfTI series, from 0; any other than 0 is an error for other
    /// inputs.
    pub frame: usize,
    /// The DICOM series, where the input holds several.
    pub series: Option<SeriesUid>,
}

impl Part {
    pub fn frame(frame: usize) -> Self {
        Part { frame, series: None }
    }
}

/// Reads the volume at `path`. `limits` caps each slice's pixels and the whole volume's bytes
/// (`max_alloc_bytes`, at least 1 GiB so a 1024^3 u8 scan always fits).
pub fn load(path: &Path, source: VolumeSource, limits: DecodeLimits) -> Result<Volume> {
    load_part(path, source, Part::default(), limits)
}

/// [`load`], taking the `part` of an input that holds several volumes.
pub fn load_part(
    path: &Path,
    source: VolumeSource,
    part: Part,
    limits: DecodeLimits,
) -> Result<Volume> {
    let frame = part.frame;
    let max_bytes = limits.max_alloc_bytes.max(1 << 30) * 2;
    let no_frames = || {
        EngineError::InvalidParameter(crate::ParamError::new(
            "frame",
            "only a 4-D NIfTI file has frames; this input is one volume",
        ))
    };
    if let VolumeSource::Raw { dims, sample } = source {
        if frame > 0 {
            return Err(no_frames());
        }
        return raw(path, dims, sample, max_bytes);
    }
    if path.is_dir() {
        if frame > 0 {
            return Err(no_frames());
        }
        let mut names = Vec::new();
        for entry in std::fs::read_dir(path).map_err(EngineError::ReadInput)? {
            let entry = entry.map_err(EngineError::ReadInput)?;
            if entry.file_type().map_err(EngineError::ReadInput)?.is_file() {
                names.push(entry.file_name().to_string_lossy().into_owned());
            }
        }
        let slices = slice_names(names.clone());
        if slices.is_empty() || names.iter().any(|n| is_dicom_name(n)) {
            let mut files = Directory { dir: path, names };
            return dicom::series(&mut files, part.series, max_bytes, limits).map_err(
                |e| match e {
                    EngineError::NoSlices(_) => EngineError::NoSlices(path.display().to_string()),
                    e => e,
                },
            );
        }
        return stack(&slices, max_bytes, limits, |name| {
            std::fs::read(path.join(name)).map_err(EngineError::ReadInput)
        });
    }
    let mut file = File::open(path).map_err(EngineError::ReadInput)?;
    let mut head = Vec::with_capacity(132);
    (&mut file).take(132).read_to_end(&mut head).map_err(EngineError::ReadInput)?;
    file.rewind().map_err(EngineError::ReadInput)?;
    // DICOM first: its free-form preamble may itself look like a TIFF header.
    if dicom::is_dicom(&head) {
        if frame > 0 {
            return Err(no_frames());
        }
        let dir = path.parent().unwrap_or(Path::new("."));
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let mut files = Directory { dir, names: vec![name] };
        return dicom::series(&mut files, part.series, max_bytes, limits).map_err(|e| match e {
            EngineError::NoSlices(_) => EngineError::NoSlices(path.display().to_string()),
            e => e,
        });
    }
    match &head[..head.len().min(4)] {
        [0x1f, 0x8b, ..] | [92, 1, 0, 0] | [0, 0, 1, 92] => {
            super::nifti::read(path, frame, max_bytes)
        }
        _ if frame > 0 => Err(no_frames()),
        [b'P', b'K', 3, 4] => zip(file, path, part.series, max_bytes, limits),
        [b'I', b'I', 42, 0] | [b'M', b'M', 0, 42] => tiff_stack(file, max_bytes, limits),
        _ => Err(EngineError::UnsupportedVolume(path.display().to_string())),
    }
}

/// Whether a file's name says it is DICOM.
fn is_dicom_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.ends_with(".dcm") || lower.ends_with(".dicom")
}

/// The files of a directory, for a DICOM series.
struct Directory<'a> {
    dir: &'a Path,
    names: Vec<String>,
}

impl Files for Directory<'_> {
    fn names(&self) -> Vec<String> {
        self.names.clone()
    }

    fn with(&mut self, name: &str, f: &mut dyn FnMut(&mut dyn Read) -> Result<()>) -> Result<()> {
        let file = File::open(self.dir.join(name)).map_err(EngineError::ReadInput)?;
        f(&mut BufReader::new(file))
    }
}

/// The entries of a ZIP archive, for a DICOM series; each read is capped, whatever the
/// entry's declared size (a ZIP bomb stops at the cap).
struct Archive {
    archive: zip::ZipArchive<BufReader<File>>,
    names: Vec<String>,
    cap: u64,
}

impl Files for Archive {
    fn names(&self) -> Vec<String> {
        self.names.clone()
    }

    fn with(&mut self, name: &str, f: &mut dyn FnMut(&mut dyn Read) -> Result<()>) -> Result<()> {
        let corrupt = |e: zip::result::ZipError| EngineError::CorruptArchive(e.to_string());
        let entry = self.archive.by_name(name).map_err(corrupt)?;
        let mut capped = CappedRead { inner: entry, left: self.cap, cap: self.cap };
        f(&mut capped)
    }
}

/// A reader that fails, rather than ends, past `cap` bytes.
struct CappedRead<R> {
    inner: R,
    left: u64,
    cap: u64,
}

impl<R: Read> Read for CappedRead<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let want = buf.len().min(self.left.saturating_add(1).min(usize::MAX as u64) as usize);
        let n = self.inner.read(&mut buf[..want])?;
        if n as u64 > self.left {
            return Err(std::io::Error::other(format!(
                "an entry decompresses to more than {} MiB",
                self.cap >> 20
            )));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

/// Whether `bytes` (a file's start, at least its first 348 bytes where it has them) is a
/// volume rather than an image: DICOM, NIfTI (plain or gzipped), a ZIP, or a TIFF of more
/// than one page. `None` when it is not; else the media type to store it under.
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    let nifti = |head: &[u8]| {
        head.get(344..348).is_some_and(|m| m == b"n+1\0" || m == b"ni1\0")
            && matches!(head.get(..4), Some([92, 1, 0, 0] | [0, 0, 1, 92]))
    };
    if dicom::is_dicom(bytes) {
        return Some("application/dicom");
    }
    match bytes.get(..4)? {
        [b'P', b'K', 3, 4] => Some("application/zip"),
        _ if nifti(bytes) => Some("application/x-nifti"),
        [0x1f, 0x8b, ..] => {
            use std::io::Read;
            let mut head = Vec::new();
            let mut gz = flate2::read::GzDecoder::new(bytes);
            let _ = (&mut gz).take(348).read_to_end(&mut head);
            nifti(&head).then_some("application/x-nifti-gz")
        }
        [b'I', b'I', 42, 0] | [b'M', b'M', 0, 42] => {
            let decoder = tiff::decoder::Decoder::new(std::io::Cursor::new(bytes));
            decoder.ok().filter(|d| d.more_images()).map(|_| "image/tiff")
        }
        _ => None,
    }
}

/// Image files among `names`, in natural order ignoring case (`slice2` before `Slice10`).
fn slice_names(names: Vec<String>) -> Vec<String> {
    let is_image = |name: &str| {
        let lower = name.to_ascii_lowercase();
        let hidden = name.rsplit('/').next().is_some_and(|base| base.starts_with('.'));
        !hidden
            && [".png", ".tif", ".tiff", ".jpg", ".jpeg", ".bmp", ".webp"]
                .iter()
                .any(|ext| lower.ends_with(ext))
    };
    let mut slices: Vec<String> = names.into_iter().filter(|n| is_image(n)).collect();
    slices.sort_by(|a, b| natord::compare_ignore_case(a, b));
    slices
}

pub(super) fn check_size(dims: [usize; 3], sample_bytes: usize, max_bytes: u64) -> Result<()> {
    let bytes = dims.iter().try_fold(sample_bytes as u64, |acc, &d| acc.checked_mul(d as u64));
    match bytes {
        Some(bytes) if bytes <= max_bytes => Ok(()),
        _ => Err(EngineError::VolumeTooLarge { dims, limit_mib: max_bytes >> 20 }),
    }
}

/// Appends one slice's samples, which must match the first slice's type.
pub(super) fn append(all: &mut Option<Voxels>, slice: Voxels) {
    match (all, slice) {
        (Some(Voxels::U8(a)), Voxels::U8(b)) => a.extend(b),
        (Some(Voxels::U16(a)), Voxels::U16(b)) => a.extend(b),
        (Some(Voxels::I16(a)), Voxels::I16(b)) => a.extend(b),
        (Some(Voxels::F32(a)), Voxels::F32(b)) => a.extend(b),
        // Mixed depths: everything as f32.
        (Some(all), slice) => {
            let mut merged = to_f32(std::mem::replace(all, Voxels::F32(Vec::new())));
            merged.extend(to_f32(slice));
            *all = Voxels::F32(merged);
        }
        (all @ None, slice) => *all = Some(slice),
    }
}

fn to_f32(voxels: Voxels) -> Vec<f32> {
    match voxels {
        Voxels::U8(v) => v.into_iter().map(f32::from).collect(),
        Voxels::U16(v) => v.into_iter().map(f32::from).collect(),
        Voxels::I16(v) => v.into_iter().map(f32::from).collect(),
        Voxels::F32(v) => v,
    }
}

/// Decodes numbered slices, each the same size, into one volume.
fn stack(
    names: &[String],
    max_bytes: u64,
    limits: DecodeLimits,
    mut read: impl FnMut(&str) -> Result<Vec<u8>>,
) -> Result<Volume> {
    let mut voxels = None;
    let mut size = None;
    for (index, name) in names.iter().enumerate() {
        let bytes = read(name)?;
        let image = decode::decode_bytes(&bytes, limits).map_err(|e| EngineError::BadSlice {
            index: index + 1,
            name: name.clone(),
            reason: e.to_string(),
        })?;
        let this = (image.width() as usize, image.height() as usize);
        let first = *size.get_or_insert(this);
        if this != first {
            return Err(EngineError::SliceSizeMismatch {
                index: index + 1,
                name: name.clone(),
                size: this,
                first,
            });
        }
        check_size([first.0, first.1, index + 1], 4, max_bytes)?;
        append(&mut voxels, image.into_gray_voxels());
    }
    let (w, h) = size.expect("at least one slice");
    let voxels = voxels.expect("at least one slice");
    Ok(Volume::new([w, h, names.len()], voxels))
}

fn zip(
    file: File,
    path: &Path,
    series: Option<SeriesUid>,
    max_bytes: u64,
    limits: DecodeLimits,
) -> Result<Volume> {
    let corrupt = |e: zip::result::ZipError| EngineError::CorruptArchive(e.to_string());
    let mut archive = zip::ZipArchive::new(BufReader::new(file)).map_err(corrupt)?;
    // A bomb says what it expands to (and a lie is caught by the capped reads below).
    let mut declared = 0u64;
    for i in 0..archive.len() {
        declared = declared.saturating_add(archive.by_index_raw(i).map_err(corrupt)?.size());
    }
    if declared > max_bytes {
        return Err(EngineError::ZipBomb {
            declared_mib: declared >> 20,
            limit_mib: max_bytes >> 20,
        });
    }
    let names: Vec<String> = archive
        .file_names()
        .map(|n| n.map(|n| n.into_owned()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(corrupt)?
        .into_iter()
        .filter(|n| !n.ends_with('/') && !n.starts_with("__MACOSX/"))
        .collect();
    let slices = slice_names(names.clone());
    if slices.is_empty() || names.iter().any(|n| is_dicom_name(n)) {
        let names = names
            .into_iter()
            .filter(|n| !n.rsplit('/').next().is_some_and(|base| base.starts_with('.')))
            .collect();
        let mut files = Archive { archive, names, cap: limits.max_alloc_bytes };
        return dicom::series(&mut files, series, max_bytes, limits).map_err(|e| match e {
            EngineError::NoSlices(_) => EngineError::NoSlices(path.display().to_string()),
            e => e,
        });
    }
    stack(&slices, max_bytes, limits, |name| {
        let mut entry = archive.by_name(name).map_err(corrupt)?;
        // The declared size is only a hint; the read itself is capped.
        let cap = limits.max_alloc_bytes;
        let mut bytes = Vec::new();
        (&mut entry)
            .take(cap + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| EngineError::CorruptArchive(format!("{name}: {e}")))?;
        if bytes.len() as u64 > cap {
            return Err(EngineError::TooMuchMemory { limit_mib: cap >> 20 });
        }
        Ok(bytes)
    })
}

fn tiff_stack(file: File, max_bytes: u64, limits: DecodeLimits) -> Result<Volume> {
    use tiff::decoder::{Decoder, DecodingResult, Limits};
    let corrupt = |e: tiff::TiffError| EngineError::CorruptImage(e.to_string());
    let mut tiff_limits = Limits::default();
    tiff_limits.decoding_buffer_size = limits.max_alloc_bytes as usize;
    tiff_limits.intermediate_buffer_size = limits.max_alloc_bytes as usize;
    let mut decoder = Decoder::new(BufReader::new(file)).map_err(corrupt)?.with_limits(tiff_limits);
    let mut voxels = None;
    let mut first = None;
    let mut pages = 0;
    loop {
        let (w, h) = decoder.dimensions().map_err(corrupt)?;
        let this = (w as usize, h as usize);
        let size = *first.get_or_insert(this);
        if this != size {
            return Err(EngineError::SliceSizeMismatch {
                index: pages + 1,
                name: format!("page {}", pages + 1),
                size: this,
                first: size,
            });
        }
        if u64::from(w) * u64::from(h) > limits.max_pixels {
            return Err(EngineError::TooManyPixels {
                width: w,
                height: h,
                megapixels: f64::from(w) * f64::from(h) / 1e6,
                limit_megapixels: limits.max_pixels as f64 / 1e6,
            });
        }
        check_size([size.0, size.1, pages + 1], 4, max_bytes)?;
        let color = decoder.colortype().map_err(corrupt)?;
        if !matches!(color, tiff::ColorType::Gray(_)) {
            return Err(EngineError::UnsupportedVolume(format!(
                "page {} of the TIFF is {color:?}; volume pages must be greyscale",
                pages + 1
            )));
        }
        let page = match decoder.read_image().map_err(corrupt)? {
            DecodingResult::U8(v) => Voxels::U8(v),
            DecodingResult::U16(v) => Voxels::U16(v),
            DecodingResult::F32(v) => Voxels::F32(v),
            DecodingResult::I8(v) => Voxels::F32(v.into_iter().map(f32::from).collect()),
            DecodingResult::I16(v) => Voxels::F32(v.into_iter().map(f32::from).collect()),
            DecodingResult::F64(v) => Voxels::F32(v.into_iter().map(|x| x as f32).collect()),
            _ => {
                return Err(EngineError::UnsupportedVolume(format!(
                    "page {} of the TIFF has 32- or 64-bit integer samples; save it as 8-bit, \
                     16-bit or float",
                    pages + 1
                )));
            }
        };
        // Packed samples (1, 2 or 4 bits) or a page that lies about its size decode to another
        // count than its pixels.
        if page.len() != size.0 * size.1 {
            return Err(EngineError::UnsupportedVolume(format!(
                "page {} of the TIFF decodes to {} samples for its {} x {} pixels; save it with \
                 8-bit, 16-bit or float samples",
                pages + 1,
                page.len(),
                size.0,
                size.1
            )));
        }
        append(&mut voxels, page);
        pages += 1;
        if !decoder.more_images() {
            break;
        }
        decoder.next_image().map_err(corrupt)?;
    }
    let (w, h) = first.expect("one page at least");
    Ok(Volume::new([w, h, pages], voxels.expect("one page at least")))
}

fn raw(path: &Path, dims: [usize; 3], sample: RawType, max_bytes: u64) -> Result<Volume> {
    check_size(dims, sample.bytes(), max_bytes)?;
    let expected = dims.iter().product::<usize>() * sample.bytes();
    let actual = std::fs::metadata(path).map_err(EngineError::ReadInput)?.len();
    if actual != expected as u64 {
        return Err(EngineError::RawSizeMismatch {
            dims,
            sample: sample.name(),
            expected: expected as u64,
            actual,
        });
    }
    let bytes = std::fs::read(path).map_err(EngineError::ReadInput)?;
    let voxels = match sample {
        RawType::U8 => Voxels::U8(bytes),
        RawType::U16 => {
            Voxels::U16(bytes.chunks_exact(2).map(|b| u16::from_le_bytes([b[0], b[1]])).collect())
        }
        RawType::F32 => Voxels::F32(
            bytes.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect(),
        ),
    };
    Ok(Volume::new(dims, voxels))
}

#[cfg(test)]
mod tests {
    use super::slice_names;

    #[test]
    fn slices_sort_naturally_and_skip_other_files() {
        let names = ["s10.png", "s2.png", "s1.png", "notes.txt", ".s3.png", "S11.TIF"];
        let sorted = slice_names(names.iter().map(|s| s.to_string()).collect());
        assert_eq!(sorted, ["s1.png", "s2.png", "s10.png", "S11.TIF"]);
    }
}
