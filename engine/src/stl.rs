//! STL writers, fed buffers of binary records by the mesher and written on their own thread.
//!
//! The mesher sends buffers of 50-byte binary STL records through a bounded channel; a writer
//! thread encodes them (binary: as they are; ASCII: as text) and writes them while the next
//! buffer is being made. Written buffers come back to be reused, so memory stays at a few
//! buffers however large the mesh. Files are written to a temporary name beside the target and
//! renamed into place only when complete.

use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::sync::mpsc;

use crate::error::{EngineError, Result};

/// Bytes per binary STL triangle record.
pub const RECORD_BYTES: usize = 50;
/// Buffers in flight between the mesher and the writer.
const IN_FLIGHT: usize = 3;

/// Output file format.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MeshFormat {
    /// Binary STL: 50 bytes per triangle.
    #[default]
    Stl,
    /// ASCII STL: about five times larger, for tools that need text.
    #[serde(rename = "stl-ascii")]
    StlAscii,
    /// Binary PLY, with shared vertices and vertex normals.
    Ply,
    /// Wavefront OBJ, with shared vertices and vertex normals.
    Obj,
    /// 3MF: millimetres, one object per closed part, metadata and a thumbnail.
    #[serde(rename = "3mf")]
    ThreeMf,
    /// glTF 2.0 binary: metres, +Y up, positions, normals and indices.
    Glb,
}

impl MeshFormat {
    pub const ALL: [MeshFormat; 6] = [
        MeshFormat::Stl,
        MeshFormat::StlAscii,
        MeshFormat::Ply,
        MeshFormat::Obj,
        MeshFormat::ThreeMf,
        MeshFormat::Glb,
    ];

    /// The name the CLI (`--format`), the API (`format`) and the web form use.
    pub fn name(self) -> &'static str {
        match self {
            MeshFormat::Stl => "stl",
            MeshFormat::StlAscii => "stl-ascii",
            MeshFormat::Ply => "ply",
            MeshFormat::Obj => "obj",
            MeshFormat::ThreeMf => "3mf",
            MeshFormat::Glb => "glb",
        }
    }

    /// Its name for people: `STL`, `3MF`.
    pub fn label(self) -> &'static str {
        match self {
            MeshFormat::Stl => "STL",
            MeshFormat::StlAscii => "STL (ASCII)",
            MeshFormat::Ply => "PLY",
            MeshFormat::Obj => "OBJ",
            MeshFormat::ThreeMf => "3MF",
            MeshFormat::Glb => "GLB",
        }
    }

    /// One line for help texts.
    pub fn summary(self) -> &'static str {
        match self {
            MeshFormat::Stl => "Binary STL, millimetres, what every slicer reads",
            MeshFormat::StlAscii => "ASCII STL, about five times larger, for tools that need text",
            MeshFormat::Ply => "Binary PLY, shared vertices with normals",
            MeshFormat::Obj => "Wavefront OBJ, shared vertices with normals",
            MeshFormat::ThreeMf => "3MF for slicers: millimetres, one object per part, a thumbnail",
            MeshFormat::Glb => "glTF 2.0 binary for the web and viewers: metres, +Y up",
        }
    }

    /// The media type a download is served with.
    pub fn content_type(self) -> &'static str {
        match self {
            MeshFormat::Stl | MeshFormat::StlAscii => "model/stl",
            MeshFormat::Ply => "application/x-ply",
            MeshFormat::Obj => "model/obj",
            MeshFormat::ThreeMf => "model/3mf",
            MeshFormat::Glb => "model/gltf-binary",
        }
    }

    /// The usual file extension.
    pub fn extension(self) -> &'static str {
        match self {
            MeshFormat::Stl | MeshFormat::StlAscii => "stl",
            MeshFormat::Ply => "ply",
            MeshFormat::Obj => "obj",
            MeshFormat::ThreeMf => "3mf",
            MeshFormat::Glb => "glb",
        }
    }

    /// Whether the format keeps shared vertices (written from [`Parts`]).
    ///
    /// [`Parts`]: crate::export::Parts
    pub fn is_indexed(self) -> bool {
        !matches!(self, MeshFormat::Stl | MeshFormat::StlAscii)
    }
}

impl std::fmt::Display for MeshFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for MeshFormat {
    type Err = crate::ParamError;

    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        MeshFormat::ALL.into_iter().find(|f| f.name() == s).ok_or_else(|| {
            crate::ParamError::new("format", "must be stl, stl-ascii, ply, obj, 3mf or glb")
        })
    }
}

/// Sizes of a written mesh.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MeshStats {
    pub triangles: u64,
    pub bytes: u64,
}

/// The mesher's end of the channel to the writer thread.
#[derive(Debug)]
pub(crate) struct Feed {
    to_writer: mpsc::SyncSender<Vec<u8>>,
    returned: mpsc::Receiver<Vec<u8>>,
}

impl Feed {
    /// A buffer to fill, recycled when one has come back. Its length and contents are whatever
    /// they were: resizing a recycled buffer to the same length then costs nothing, where a
    /// cleared one would be zero-filled again.
    pub fn buffer(&self) -> Vec<u8> {
        self.returned.try_recv().unwrap_or_default()
    }

    /// Hands a buffer of whole records to the writer.
    pub fn send(&mut self, records: Vec<u8>) -> Result<()> {
        debug_assert_eq!(records.len() % RECORD_BYTES, 0);
        self.to_writer.send(records).map_err(|_| {
            EngineError::WriteOutput(io::Error::other("the output writer stopped early"))
        })
    }
}

/// Runs `produce` with a [`Feed`] whose records are written to `out` as a mesh of exactly
/// `triangles` triangles in `format`.
pub(crate) fn stream<W: Write + Send>(
    format: MeshFormat,
    out: W,
    triangles: u64,
    produce: impl FnOnce(&mut Feed) -> Result<()>,
) -> Result<MeshStats> {
    let declared = u32::try_from(triangles).map_err(|_| {
        EngineError::WriteOutput(io::Error::other(format!(
            "the mesh has {triangles} triangles, more than an STL file can hold (4.29 billion); \
             use a smaller grid"
        )))
    })?;
    let ascii = match format {
        MeshFormat::Stl => false,
        MeshFormat::StlAscii => true,
        _ => {
            return Err(EngineError::WriteOutput(io::Error::other(
                "internal error: the triangle stream writes STL only",
            )));
        }
    };
    std::thread::scope(|scope| {
        let (to_writer, from_mesher) = mpsc::sync_channel::<Vec<u8>>(IN_FLIGHT);
        let (to_mesher, returned) = mpsc::channel();
        let writer = scope.spawn(move || -> io::Result<MeshStats> {
            let mut encoder = Encoder::new(ascii, out);
            encoder.header(declared)?;
            for records in from_mesher {
                encoder.records(&records)?;
                // The mesher may have finished already; a buffer nobody takes back is dropped.
                let _ = to_mesher.send(records);
            }
            encoder.finish()
        });
        let mut feed = Feed { to_writer, returned };
        let produced = produce(&mut feed);
        drop(feed);
        let written = writer
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("the output writer thread panicked")));
        // A failed write stops the mesher too; the writer's error is the one worth reporting.
        let stats = written.map_err(EngineError::WriteOutput)?;
        produced?;
        if stats.triangles != triangles {
            return Err(EngineError::WriteOutput(io::Error::other(format!(
                "internal error: {} triangles written where {triangles} were counted",
                stats.triangles
            ))));
        }
        Ok(stats)
    })
}

struct Encoder<W: Write> {
    ascii: bool,
    out: BufWriter<W>,
    triangles: u64,
    bytes: u64,
}

impl<W: Write> Encoder<W> {
    fn new(ascii: bool, out: W) -> Self {
        // Binary buffers are already large; a big BufWriter would only add a copy.
        let capacity = if ascii { 1 << 20 } else { 0 };
        Self { ascii, out: BufWriter::with_capacity(capacity, out), triangles: 0, bytes: 0 }
    }

    fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.out.write_all(bytes)?;
        self.bytes += bytes.len() as u64;
        Ok(())
    }

    fn header(&mut self, triangles: u32) -> io::Result<()> {
        if self.ascii {
            self.write(b"solid lithos\n")
        } else {
            {
                // 80 bytes that must not start with "solid", which would read as ASCII.
                let mut header = [b' '; 80];
                let text = b"Lithos binary STL, millimetres";
                header[..text.len()].copy_from_slice(text);
                self.write(&header)?;
                self.write(&triangles.to_le_bytes())
            }
        }
    }

    fn records(&mut self, records: &[u8]) -> io::Result<()> {
        self.triangles += (records.len() / RECORD_BYTES) as u64;
        match self.ascii {
            false => self.write(records),
            true => {
                let mut text = String::with_capacity(records.len() * 6);
                for record in records.chunks_exact(RECORD_BYTES) {
                    let f = |k: usize| {
                        f32::from_le_bytes(record[4 * k..4 * k + 4].try_into().expect("4 bytes"))
                    };
                    use std::fmt::Write as _;
                    let _ = write!(
                        text,
                        "facet normal {} {} {}\n  outer loop\n    vertex {} {} {}\n    vertex {} {} {}\n    vertex {} {} {}\n  endloop\nendfacet\n",
                        f(0),
                        f(1),
                        f(2),
                        f(3),
                        f(4),
                        f(5),
                        f(6),
                        f(7),
                        f(8),
                        f(9),
                        f(10),
                        f(11)
                    );
                }
                self.write(text.as_bytes())
            }
        }
    }

    fn finish(mut self) -> io::Result<MeshStats> {
        if self.ascii {
            self.write(b"endsolid lithos\n")?;
        }
        self.out.flush()?;
        Ok(MeshStats { triangles: self.triangles, bytes: self.bytes })
    }
}

/// Runs `write` on a temporary file beside `path` and renames it to `path` when `write`
/// succeeds. On failure the temporary file is removed and `path` is left as it was.
pub fn write_file_atomically<T>(
    path: &Path,
    write: impl FnOnce(&mut std::fs::File) -> Result<T>,
) -> Result<T> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        return Err(EngineError::MissingOutputDir(dir.to_path_buf()));
    }
    let mut builder = tempfile::Builder::new();
    builder.prefix(".lithos-").suffix(".part");
    // Temporary files are private by default; the result should be an ordinary file.
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o644));
    let mut file = builder.tempfile_in(dir).map_err(EngineError::WriteOutput)?;
    let value = write(file.as_file_mut())?;
    file.persist(path).map_err(|e| EngineError::WriteOutput(e.error))?;
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_format_is_named_once_for_text_serde_and_downloads() {
        for format in MeshFormat::ALL {
            assert_eq!(format.name().parse::<MeshFormat>().unwrap(), format);
            assert_eq!(format.to_string(), format.name());
            let json = serde_json::to_string(&format).unwrap();
            assert_eq!(json, format!("\"{}\"", format.name()), "serde spells it the same");
            assert_eq!(serde_json::from_str::<MeshFormat>(&json).unwrap(), format);
            assert!(format.content_type().starts_with("model/") || format == MeshFormat::Ply);
            assert_eq!(format.extension(), format.name().trim_end_matches("-ascii"));
        }
        let error = "3ds".parse::<MeshFormat>().unwrap_err();
        assert_eq!(error.field, "format");
    }
}
