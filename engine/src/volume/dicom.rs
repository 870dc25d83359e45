//! DICOM series, as scanners and PACS export them: a directory or ZIP of slices, or one
//! multi-frame file. Slices are grouped by series, sorted by their position along the slice
//! normal (never by file name), spaced from Pixel Spacing and the distance between positions,
//! oriented by Image Orientation (Patient), and kept in their stored type with the Rescale
//! Slope and Intercept applied as planes are read, so CT is in Hounsfield units.
//!
//! Only geometry and samples leave this module: no patient attribute is read, logged or
//! returned.

use std::collections::BTreeMap;
use std::io::{Cursor, Read};

use dicom_dictionary_std::tags;
use dicom_object::file::ReadPreamble;
use dicom_object::{DefaultDicomObject, InMemDicomObject, OpenFileOptions};
use dicom_pixeldata::{DecodedPixelData, PixelDecoder};

use crate::error::{EngineError, Result};
use crate::volume::{Rescale, SeriesUid, Volume, Voxels};

/// Whether `head`, a file's first bytes, is a DICOM file: "DICM" after the 128-byte preamble.
pub fn is_dicom(head: &[u8]) -> bool {
    head.get(128..132) == Some(b"DICM")
}

/// Files a series is read from: each opened twice, once for its header and once for its
/// samples, so that headers of every series are never held beside the samples.
pub(super) trait Files {
    /// The candidate files, in any order.
    fn names(&self) -> Vec<String>;
    /// Calls `f` with the file `name` (reads capped at the decode limit).
    fn with(&mut self, name: &str, f: &mut dyn FnMut(&mut dyn Read) -> Result<()>) -> Result<()>;
}

/// One image file's header: what grouping, sorting and geometry need, and nothing else.
struct Header {
    name: String,
    series: String,
    series_number: Option<i32>,
    modality: String,
    description: String,
    size: (usize, usize),
    samples_per_pixel: u16,
    instance: Option<i32>,
    orientation: Option<[f64; 6]>,
    pixel_spacing: Option<[f64; 2]>,
    /// Spacing Between Slices, else Slice Thickness: used only where positions are missing.
    slice_step: Option<f64>,
    /// Each frame's Image Position (Patient), where the file gives it.
    positions: Vec<Option<[f64; 3]>>,
}

fn corrupt(name: &str, reason: impl std::fmt::Display) -> EngineError {
    EngineError::CorruptDicom { name: name.to_owned(), reason: reason.to_string() }
}

fn floats(object: &InMemDicomObject, tag: dicom_object::Tag) -> Option<Vec<f64>> {
    object.get(tag)?.to_multi_float64().ok().filter(|v| v.iter().all(|x| x.is_finite()))
}

fn text(object: &InMemDicomObject, tag: dicom_object::Tag) -> String {
    object.get(tag).and_then(|e| e.to_str().ok()).map(|s| s.trim().to_owned()).unwrap_or_default()
}

fn integer(object: &InMemDicomObject, tag: dicom_object::Tag) -> Option<i32> {
    object.get(tag)?.to_int::<i32>().ok()
}

/// The first item of the sequence `sequence` in `object`.
fn item(object: &InMemDicomObject, sequence: dicom_object::Tag) -> Option<&InMemDicomObject> {
    object.get(sequence)?.items()?.first()
}

/// `tag` in `object`, else in the first item of `group` (a functional group) of the shared
/// functional groups.
fn shared_floats(
    object: &InMemDicomObject,
    group: dicom_object::Tag,
    tag: dicom_object::Tag,
) -> Option<Vec<f64>> {
    floats(object, tag).or_else(|| {
        let shared = item(object, tags::SHARED_FUNCTIONAL_GROUPS_SEQUENCE)?;
        floats(item(shared, group)?, tag)
    })
}

/// Reads the header of one file: `None` for a file that is not DICOM, or a DICOM object
/// without an image (a DICOMDIR, a report).
fn header(name: &str, reader: &mut dyn Read) -> Result<Option<Header>> {
    let mut head = [0u8; 132];
    let mut got = 0;
    while got < head.len() {
        match reader.read(&mut head[got..]).map_err(EngineError::ReadInput)? {
            0 => break,
            n => got += n,
        }
    }
    if !is_dicom(&head[..got]) {
        return Ok(None);
    }
    let object = OpenFileOptions::new()
        .read_preamble(ReadPreamble::Never)
        .read_until(tags::PIXEL_DATA)
        .from_reader(Cursor::new(&head[128..]).chain(reader))
        .map_err(|e| corrupt(name, e))?;
    let rows = integer(&object, tags::ROWS);
    let columns = integer(&object, tags::COLUMNS);
    let (Some(rows), Some(columns)) = (rows, columns) else { return Ok(None) };
    if rows <= 0 || columns <= 0 {
        return Err(corrupt(name, format!("it says it is {columns}x{rows} pixels")));
    }
    let frames = integer(&object, tags::NUMBER_OF_FRAMES).unwrap_or(1).max(1) as usize;
    let orientation =
        shared_floats(&object, tags::PLANE_ORIENTATION_SEQUENCE, tags::IMAGE_ORIENTATION_PATIENT)
            .and_then(|v| <[f64; 6]>::try_from(v).ok());
    let pixel_spacing = shared_floats(&object, tags::PIXEL_MEASURES_SEQUENCE, tags::PIXEL_SPACING)
        .and_then(|v| <[f64; 2]>::try_from(v).ok())
        .filter(|s| s.iter().all(|&s| s > 0.0));
    let slice_step = floats(&object, tags::SPACING_BETWEEN_SLICES)
        .or_else(|| shared_floats(&object, tags::PIXEL_MEASURES_SEQUENCE, tags::SLICE_THICKNESS))
        .and_then(|v| v.first().copied())
        .filter(|&s| s > 0.0);
    let position = |o: &InMemDicomObject| {
        floats(o, tags::IMAGE_POSITION_PATIENT).and_then(|v| <[f64; 3]>::try_from(v).ok())
    };
    let first = position(&object);
    // Positions per frame: the enhanced multi-frame functional groups, or an RT dose grid's
    // offsets along the normal, or the one position of a single-frame file.
    let per_frame = object
        .get(tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE)
        .and_then(|e| e.items())
        .filter(|items| items.len() == frames)
        .map(|items| {
            items
                .iter()
                .map(|i| item(i, tags::PLANE_POSITION_SEQUENCE).and_then(position))
                .collect::<Vec<_>>()
        });
    let offsets = floats(&object, tags::GRID_FRAME_OFFSET_VECTOR).filter(|o| o.len() == frames);
    let positions = match (per_frame, offsets, first, orientation) {
        (Some(p), _, _, _) => p,
        (None, Some(offsets), Some(origin), Some(o)) => {
            let normal = cross([o[0], o[1], o[2]], [o[3], o[4], o[5]]);
            offsets.iter().map(|&d| Some([0, 1, 2].map(|k| origin[k] + d * normal[k]))).collect()
        }
        _ if frames == 1 => vec![first],
        _ => vec![None; frames],
    };
    Ok(Some(Header {
        name: name.to_owned(),
        series: text(&object, tags::SERIES_INSTANCE_UID),
        series_number: integer(&object, tags::SERIES_NUMBER),
        modality: text(&object, tags::MODALITY),
        description: text(&object, tags::SERIES_DESCRIPTION),
        size: (columns as usize, rows as usize),
        samples_per_pixel: integer(&object, tags::SAMPLES_PER_PIXEL).unwrap_or(1) as u16,
        instance: integer(&object, tags::INSTANCE_NUMBER),
        orientation,
        pixel_spacing,
        slice_step,
        positions,
    }))
}

fn cross(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]
}

fn dot(a: [f64; 3], b: [f64; 3]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

fn unit(a: [f64; 3]) -> Option<[f64; 3]> {
    let length = dot(a, a).sqrt();
    (length > 1e-6).then(|| a.map(|v| v / length))
}

/// What a series is, for choosing one: no patient attribute, only the series' own.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct SeriesSummary {
    /// Series Instance UID, what `series` takes.
    pub uid: String,
    pub modality: String,
    pub number: Option<i32>,
    pub description: String,
    /// Slices (frames) in the series.
    pub slices: usize,
    /// Columns and rows of a slice.
    pub size: [usize; 2],
}

impl std::fmt::Display for SeriesSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let modality = if self.modality.is_empty() { "?" } else { &self.modality };
        write!(f, "{} ({modality}", self.uid)?;
        if let Some(n) = self.number {
            write!(f, " series {n}")?;
        }
        if !self.description.is_empty() {
            write!(f, " \"{}\"", self.description)?;
        }
        write!(f, ", {} slices of {}x{})", self.slices, self.size[0], self.size[1])
    }
}

/// The series, one line each.
pub fn list(series: &[SeriesSummary]) -> String {
    series.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
}

fn summary(uid: &str, headers: &[Header]) -> SeriesSummary {
    let h = &headers[0];
    SeriesSummary {
        uid: uid.to_owned(),
        modality: h.modality.clone(),
        number: h.series_number,
        description: h.description.clone(),
        slices: headers.iter().map(|h| h.positions.len()).sum(),
        size: [h.size.0, h.size.1],
    }
}

fn summaries(series: &BTreeMap<String, Vec<Header>>) -> Vec<SeriesSummary> {
    let mut list: Vec<SeriesSummary> =
        series.iter().map(|(uid, headers)| summary(uid, headers)).collect();
    list.sort_by_key(|s| (s.number.unwrap_or(i32::MAX), s.uid.clone()));
    list
}

/// Reads the DICOM series among `files`: the one there is, or `series`.
pub(super) fn series(
    files: &mut dyn Files,
    wanted: Option<SeriesUid>,
    max_bytes: u64,
    limits: crate::DecodeLimits,
) -> Result<Volume> {
    // Pass 1: headers only, reading each file up to its pixel data.
    let mut by_series: BTreeMap<String, Vec<Header>> = BTreeMap::new();
    for name in files.names() {
        let mut found = None;
        files.with(&name, &mut |reader| {
            found = header(&name, reader)?;
            Ok(())
        })?;
        match found {
            Some(h) => by_series.entry(h.series.clone()).or_default().push(h),
            // A file named as DICOM that is not: its own error, since a slice would be lost.
            None if name.to_ascii_lowercase().ends_with(".dcm") && !is_dicomdir(&name) => {
                let mut head = Vec::new();
                files.with(&name, &mut |r| {
                    r.take(132).read_to_end(&mut head).map_err(EngineError::ReadInput)?;
                    Ok(())
                })?;
                if !is_dicom(&head) {
                    return Err(EngineError::NotDicom(name));
                }
            }
            None => {}
        }
    }
    if by_series.is_empty() {
        return Err(EngineError::NoSlices("the input".into()));
    }
    let headers = match wanted {
        Some(uid) => match by_series.remove(uid.as_str()) {
            Some(headers) => headers,
            None => {
                return Err(EngineError::NoSuchSeries {
                    uid: uid.to_string(),
                    series: summaries(&by_series),
                });
            }
        },
        None if by_series.len() > 1 => {
            return Err(EngineError::SeveralSeries { series: summaries(&by_series) });
        }
        None => by_series.into_values().next().expect("one series"),
    };
    let summary = summary(&headers[0].series, &headers);
    let plan = Plan::new(headers, limits)?;
    super::load::check_size([plan.size.0, plan.size.1, plan.order.len()], 2, max_bytes)?;

    // Pass 2: the samples, file by file in the order of their positions.
    let mut voxels: Option<Voxels> = None;
    let mut rescales = Vec::with_capacity(plan.order.len());
    let mut decoded: Option<(usize, DecodedPixelData<'static>)> = None;
    for &(file, frame) in &plan.order {
        if decoded.as_ref().is_none_or(|(f, _)| *f != file) {
            let name = &plan.headers[file].name;
            let mut object = None;
            files.with(name, &mut |reader| {
                object = Some(read_object(name, reader)?);
                Ok(())
            })?;
            let object = object.expect("read");
            decoded = Some((file, decode(name, &object)?));
        }
        let (_, pixels) = decoded.as_ref().expect("decoded");
        let name = &plan.headers[file].name;
        let bytes = pixels.frame_data(frame as u32).map_err(|e| corrupt(name, e))?;
        super::load::append(&mut voxels, samples(name, pixels, bytes)?);
        let rescale = pixels.rescale().map_err(|e| corrupt(name, e))?;
        let r = rescale.get(frame).or(rescale.first()).copied();
        rescales.push(r.map_or(Rescale::IDENTITY, |r| Rescale {
            slope: r.slope as f32,
            intercept: r.intercept as f32,
        }));
    }
    let voxels = voxels.expect("one slice at least");
    let (w, h) = plan.size;
    let dims = [w, h, plan.order.len()];
    // One rescale for the series keeps the samples compact; per-slice scaling (PET, some MR)
    // is applied now, as f32.
    let (voxels, rescale) = if rescales.windows(2).all(|p| p[0] == p[1]) {
        (voxels, rescales[0])
    } else {
        let mut volume = Volume::new(dims, voxels);
        let plane = w * h;
        let mut values = vec![0.0; plane * dims[2]];
        for (z, r) in rescales.iter().enumerate() {
            volume.rescale = *r;
            crate::isosurface::ScalarField::read_planes(
                &volume,
                z,
                z + 1,
                &mut values[z * plane..],
            );
        }
        (Voxels::F32(values), Rescale::IDENTITY)
    };
    Ok(Volume {
        dims,
        spacing_mm: plan.spacing_mm,
        orientation: plan.orientation,
        voxels,
        rescale,
        frames: 1,
        series: Some(summary),
    })
}

fn is_dicomdir(name: &str) -> bool {
    name.rsplit('/').next().is_some_and(|base| base.eq_ignore_ascii_case("DICOMDIR"))
}

/// A series' slices in order, and its geometry.
struct Plan {
    headers: Vec<Header>,
    /// (file, frame) for each slice, in order along the normal.
    order: Vec<(usize, usize)>,
    size: (usize, usize),
    spacing_mm: [f32; 3],
    orientation: [[f32; 3]; 3],
}

/// Slices closer than this fraction of the usual gap to it count as evenly spaced.
const GAP_TOLERANCE: f64 = 0.01;

impl Plan {
    fn new(headers: Vec<Header>, limits: crate::DecodeLimits) -> Result<Plan> {
        let first = &headers[0];
        let size = first.size;
        for (index, h) in headers.iter().enumerate() {
            if h.size != size {
                return Err(EngineError::SliceSizeMismatch {
                    index: index + 1,
                    name: h.name.clone(),
                    size: h.size,
                    first: size,
                });
            }
            if h.samples_per_pixel != 1 {
                return Err(EngineError::UnsupportedDicom(format!(
                    "{} is a colour DICOM image ({} samples a pixel), not a scan",
                    h.name, h.samples_per_pixel
                )));
            }
        }
        if (size.0 * size.1) as u64 > limits.max_pixels {
            return Err(EngineError::TooManyPixels {
                width: size.0 as u32,
                height: size.1 as u32,
                megapixels: (size.0 * size.1) as f64 / 1e6,
                limit_megapixels: limits.max_pixels as f64 / 1e6,
            });
        }
        let o = first.orientation.unwrap_or([1.0, 0.0, 0.0, 0.0, 1.0, 0.0]);
        let (row, column) = (unit([o[0], o[1], o[2]]), unit([o[3], o[4], o[5]]));
        let (Some(row), Some(column)) = (row, column) else {
            return Err(corrupt(&first.name, "its Image Orientation (Patient) has a zero axis"));
        };
        let normal = unit(cross(row, column)).ok_or_else(|| {
            corrupt(&first.name, "its Image Orientation (Patient) has parallel axes")
        })?;
        for h in &headers {
            let same = h.orientation.unwrap_or(o).iter().zip(&o).all(|(a, b)| (a - b).abs() < 1e-3);
            if !same {
                return Err(EngineError::DicomGeometry(format!(
                    "{} and {} have different orientations (Image Orientation (Patient)); a \
                     volume's slices are parallel, so choose one acquisition's slices",
                    first.name, h.name
                )));
            }
        }
        let slices: Vec<(usize, usize, Option<[f64; 3]>)> = headers
            .iter()
            .enumerate()
            .flat_map(|(f, h)| h.positions.iter().enumerate().map(move |(k, p)| (f, k, *p)))
            .collect();
        let mut order: Vec<(usize, usize, f64)>;
        let gap;
        if slices.iter().all(|s| s.2.is_some()) {
            order = slices.iter().map(|&(f, k, p)| (f, k, dot(p.expect("all"), normal))).collect();
            order.sort_by(|a, b| a.2.total_cmp(&b.2));
            let gaps: Vec<f64> = order.windows(2).map(|w| w[1].2 - w[0].2).collect();
            gap = if gaps.is_empty() { first.slice_step.unwrap_or(1.0) } else { median(&gaps) };
            if let Some(i) = gaps.iter().position(|&g| g < 1e-4) {
                let (a, b) = (&headers[order[i].0].name, &headers[order[i + 1].0].name);
                return Err(EngineError::DicomGeometry(format!(
                    "{a} and {b} lie at the same position; the series holds more than one \
                     acquisition (or a slice twice), so export one acquisition's slices"
                )));
            }
            let (lo, hi) = gaps.iter().fold((f64::MAX, 0.0f64), |(l, h), &g| (l.min(g), h.max(g)));
            if !gaps.is_empty() && hi - lo > (GAP_TOLERANCE * gap).max(1e-3) {
                return Err(EngineError::DicomGaps { min_mm: lo, max_mm: hi, slices: order.len() });
            }
        } else {
            // No positions (secondary captures): the instance number's order, and the header's
            // slice spacing.
            order = slices.iter().map(|&(f, k, _)| (f, k, 0.0)).collect();
            order.sort_by_key(|&(f, k, _)| (headers[f].instance.unwrap_or(i32::MAX), f, k));
            gap = first.slice_step.unwrap_or(1.0);
        }
        let pixel = first.pixel_spacing.unwrap_or([1.0, 1.0]);
        let spacing_mm = [pixel[1] as f32, pixel[0] as f32, gap as f32];
        let orientation = [row, column, normal].map(|axis| axis.map(|v| v as f32));
        Ok(Plan {
            order: order.into_iter().map(|(f, k, _)| (f, k)).collect(),
            headers,
            size,
            spacing_mm,
            orientation,
        })
    }
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted[sorted.len() / 2]
}

/// Reads a whole DICOM file, its pixel data included.
fn read_object(name: &str, reader: &mut dyn Read) -> Result<DefaultDicomObject> {
    let mut preamble = [0u8; 128];
    reader.read_exact(&mut preamble).map_err(|e| corrupt(name, e))?;
    OpenFileOptions::new()
        .read_preamble(ReadPreamble::Never)
        .from_reader(reader)
        .map_err(|e| corrupt(name, e))
}

/// Decodes a file's pixel data, naming the transfer syntax when it is one Lithos cannot
/// decode.
fn decode(name: &str, object: &DefaultDicomObject) -> Result<DecodedPixelData<'static>> {
    use dicom_encoding::TransferSyntaxIndex;
    use dicom_transfer_syntax_registry::TransferSyntaxRegistry;
    let uid = object.meta().transfer_syntax().trim_end_matches('\0').trim();
    let syntax = TransferSyntaxRegistry.get(uid);
    let unsupported = |detail: String| EngineError::DicomTransferSyntax {
        name: name.to_owned(),
        syntax: match syntax {
            Some(ts) => format!("{} ({uid})", ts.name()),
            None => uid.to_owned(),
        },
        detail,
    };
    let Some(ts) = syntax.filter(|ts| ts.can_decode_all()) else {
        return Err(unsupported(String::new()));
    };
    if object.get(tags::PIXEL_DATA).is_none() {
        return Err(corrupt(name, "it has no pixel data"));
    }
    let decoded = object.decode_pixel_data().map_err(|e| {
        // The codec's own words: the innermost cause.
        let mut reason = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(inner) = source {
            reason = inner.to_string();
            source = inner.source();
        }
        if ts.is_codec_free() {
            corrupt(name, reason)
        } else {
            unsupported(format!(" here ({reason})"))
        }
    })?;
    Ok(decoded.to_owned())
}

/// One frame's stored samples, in the type they are kept in.
fn samples(name: &str, pixels: &DecodedPixelData, bytes: &[u8]) -> Result<Voxels> {
    use dicom_pixeldata::PixelRepresentation::Signed;
    let signed = pixels.pixel_representation() == Signed;
    let bits = u32::from(pixels.bits_stored()).clamp(1, 32);
    Ok(match pixels.bits_allocated() {
        8 if signed => Voxels::I16(bytes.iter().map(|&b| i16::from(b as i8)).collect()),
        8 => Voxels::U8(bytes.to_vec()),
        16 => {
            let words = bytes.chunks_exact(2).map(|b| u16::from_ne_bytes([b[0], b[1]]));
            let bits = bits.min(16);
            let mask = if bits == 16 { u16::MAX } else { (1u16 << bits) - 1 };
            if signed {
                // Sign-extend from the stored bits; the bits above them may be anything.
                let shift = 16 - bits;
                Voxels::I16(words.map(|w| (((w & mask) << shift) as i16) >> shift).collect())
            } else {
                Voxels::U16(words.map(|w| w & mask).collect())
            }
        }
        32 => {
            let words = bytes.chunks_exact(4).map(|b| u32::from_ne_bytes([b[0], b[1], b[2], b[3]]));
            if signed {
                Voxels::F32(words.map(|w| w as i32 as f32).collect())
            } else {
                Voxels::F32(words.map(|w| w as f32).collect())
            }
        }
        other => {
            return Err(EngineError::UnsupportedDicom(format!(
                "{name} has {other} bit{} a sample (a segmentation or overlay, not a scan)",
                if other == 1 { "" } else { "s" }
            )));
        }
    })
}
