//! 3MF (3D Manufacturing Format, core specification 1.3): an OPC package (a ZIP) holding the
//! model as XML in millimetres, one object per part with a build item each, title and
//! application metadata, and a thumbnail where there is one.
//!
//! The ZIP is streamed (sizes follow each entry in a data descriptor), so the model, which
//! for a large relief runs to gigabytes of XML, is deflated as it is produced and never held.

use std::io::{self, BufWriter, Write};

use zip::CompressionMethod;
use zip::write::SimpleFileOptions;

use super::{Counting, Meta, Parts};

const MODEL_PATH: &str = "3D/3dmodel.model";
const THUMBNAIL_PATH: &str = "Metadata/thumbnail.png";
/// PrusaSlicer's colour changes by height.
const PRUSA_CHANGES_PATH: &str = "Metadata/Prusa_Slicer_custom_gcode_per_print_z.xml";
/// Bambu Studio's and OrcaSlicer's, per plate.
const BAMBU_CHANGES_PATH: &str = "Metadata/custom_gcode_per_layer.xml";

const CONTENT_TYPES: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
 <Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>
 <Default Extension="model" ContentType="application/vnd.ms-package.3dmanufacturing-3dmodel+xml"/>
 <Default Extension="png" ContentType="image/png"/>
 <Default Extension="xml" ContentType="application/xml"/>
</Types>
"#;

fn relationships(thumbnail: bool) -> String {
    let mut xml = String::from(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
 <Relationship Target="/3D/3dmodel.model" Id="rel0" Type="http://schemas.microsoft.com/3dmanufacturing/2013/01/3dmodel"/>
"#,
    );
    if thumbnail {
        xml.push_str(
            r#" <Relationship Target="/Metadata/thumbnail.png" Id="rel1" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/thumbnail"/>
"#,
        );
    }
    xml.push_str("</Relationships>\n");
    xml
}

/// Writes `parts` as a 3MF package to `out`; returns the bytes written.
pub fn write<W: Write>(parts: &dyn Parts, meta: &Meta, out: W) -> io::Result<u64> {
    let mut zip = zip::ZipWriter::new_stream(Counting::new(out));
    let small = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
    zip.start_file("[Content_Types].xml", small).map_err(io::Error::other)?;
    zip.write_all(CONTENT_TYPES.as_bytes())?;
    zip.start_file("_rels/.rels", small).map_err(io::Error::other)?;
    zip.write_all(relationships(meta.thumbnail.is_some()).as_bytes())?;
    if let Some(png) = &meta.thumbnail {
        // Deflated, though a PNG hardly shrinks: a streamed entry that is stored has no
        // size before its data, which readers such as lib3mf's refuse.
        zip.start_file(THUMBNAIL_PATH, small).map_err(io::Error::other)?;
        zip.write_all(png)?;
    }
    if !meta.colour_changes.is_empty() {
        let (prusa, bambu) = colour_changes(&meta.colour_changes);
        zip.start_file(PRUSA_CHANGES_PATH, small).map_err(io::Error::other)?;
        zip.write_all(prusa.as_bytes())?;
        zip.start_file(BAMBU_CHANGES_PATH, small).map_err(io::Error::other)?;
        zip.write_all(bambu.as_bytes())?;
    }
    // An upper bound of the model's size, to choose ZIP64 for the entry before it is written.
    let (vertices, triangles) =
        parts.sizes().iter().fold((0, 0), |(v, t), s| (v + s.vertices, t + s.triangles));
    let large = vertices * 80 + triangles * 70 + 4096 > u64::from(u32::MAX);
    // The fastest level: the model's XML is repetitive, so it still shrinks several times.
    let model = small.compression_level(Some(1)).large_file(large);
    zip.start_file(MODEL_PATH, model).map_err(io::Error::other)?;
    {
        let mut xml = BufWriter::with_capacity(1 << 20, &mut zip);
        write_model(parts, meta, &mut xml)?;
        xml.flush()?;
    }
    let mut counting = zip.finish().map_err(io::Error::other)?.into_inner();
    counting.flush()?;
    Ok(counting.bytes)
}

fn write_model(parts: &dyn Parts, meta: &Meta, xml: &mut impl Write) -> io::Result<()> {
    writeln!(xml, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
    writeln!(
        xml,
        r#"<model unit="millimeter" xml:lang="en-US" xmlns="http://schemas.microsoft.com/3dmanufacturing/core/2015/02">"#
    )?;
    let title = if meta.title.is_empty() { "Lithos model" } else { meta.title.as_str() };
    writeln!(xml, r#" <metadata name="Title">{}</metadata>"#, escape(title))?;
    writeln!(
        xml,
        r#" <metadata name="Application">Lithos {}</metadata>"#,
        env!("CARGO_PKG_VERSION")
    )?;
    writeln!(xml, " <resources>")?;
    let mut number = ryu::Buffer::new();
    let mut index = itoa::Buffer::new();
    for part in 0..parts.sizes().len() {
        writeln!(xml, r#"  <object id="{}" type="model">"#, part + 1)?;
        writeln!(xml, "   <mesh>\n    <vertices>")?;
        parts.vertices(part, &mut |p, _| {
            xml.write_all(b"     <vertex x=\"")?;
            xml.write_all(number.format_finite(p[0]).as_bytes())?;
            xml.write_all(b"\" y=\"")?;
            xml.write_all(number.format_finite(p[1]).as_bytes())?;
            xml.write_all(b"\" z=\"")?;
            xml.write_all(number.format_finite(p[2]).as_bytes())?;
            xml.write_all(b"\"/>\n")
        })?;
        writeln!(xml, "    </vertices>\n    <triangles>")?;
        parts.triangles(part, &mut |[a, b, c]| {
            xml.write_all(b"     <triangle v1=\"")?;
            xml.write_all(index.format(a).as_bytes())?;
            xml.write_all(b"\" v2=\"")?;
            xml.write_all(index.format(b).as_bytes())?;
            xml.write_all(b"\" v3=\"")?;
            xml.write_all(index.format(c).as_bytes())?;
            xml.write_all(b"\"/>\n")
        })?;
        writeln!(xml, "    </triangles>\n   </mesh>\n  </object>")?;
    }
    writeln!(xml, " </resources>\n <build>")?;
    for part in 0..parts.sizes().len() {
        writeln!(xml, r#"  <item objectid="{}"/>"#, part + 1)?;
    }
    writeln!(xml, " </build>\n</model>")
}

/// Filament changes (M600, a colour change on a single extruder) as PrusaSlicer reads them
/// (`print_z`: the change comes before the layer with that top) and as Bambu Studio and
/// OrcaSlicer read them (`top_z`, per plate).
fn colour_changes(changes: &[super::ColourChange]) -> (String, String) {
    let mut prusa =
        String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<custom_gcodes_per_print_z>\n");
    let mut bambu = String::from(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<custom_gcodes_per_layer>\n<plate>\n\
         <plate_info id=\"1\"/>\n",
    );
    for change in changes {
        let (z, colour) = (change.z_mm, escape(&change.colour));
        prusa.push_str(&format!(
            "<code print_z=\"{z}\" type=\"0\" extruder=\"1\" color=\"{colour}\" extra=\"\" \
             gcode=\"M600\"/>\n"
        ));
        bambu.push_str(&format!(
            "<layer top_z=\"{z}\" type=\"0\" extruder=\"1\" color=\"{colour}\" extra=\"\" \
             gcode=\"M600\"/>\n"
        ));
    }
    prusa.push_str("<mode value=\"SingleExtruder\"/>\n</custom_gcodes_per_print_z>\n");
    bambu.push_str("<mode value=\"SingleExtruder\"/>\n</plate>\n</custom_gcodes_per_layer>\n");
    (prusa, bambu)
}

/// `text` with XML's special characters escaped.
fn escape(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '&' => "&amp;".to_owned(),
            '<' => "&lt;".to_owned(),
            '>' => "&gt;".to_owned(),
            '"' => "&quot;".to_owned(),
            c if c.is_control() => " ".to_owned(),
            c => c.to_string(),
        })
        .collect()
}
