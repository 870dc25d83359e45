//! Fonts: the bundled one or a TTF/OTF of the user's, read by `ttf-parser`, and the text laid
//! out with them into outlines in millimetres.

use ttf_parser::{Face, GlyphId, OutlineBuilder};

use super::{Align, TextLines};
use crate::EngineError;

/// DejaVu Sans Bold (Bitstream Vera licence, see `engine/fonts/LICENSE`): bold strokes print
/// well small, and it covers Latin, Greek and Cyrillic.
pub const BUNDLED: &[u8] = include_bytes!("../../fonts/DejaVuSans-Bold.ttf");
pub const BUNDLED_NAME: &str = "DejaVu Sans Bold";

/// The most a font file may be: the largest CJK fonts are around 20 MiB.
pub const MAX_FONT_BYTES: usize = 32 << 20;

/// Whether `bytes` start like a font: TrueType, OpenType (CFF), Apple's `true`, or a collection.
pub fn sniff(bytes: &[u8]) -> bool {
    // A TrueType font's version is 0x00010000; a raw volume could start so, so the server
    // asks only where no raw shape was given.
    matches!(bytes.get(..4), Some([0, 1, 0, 0] | b"OTTO" | b"true" | b"ttcf"))
}

/// Reads a font file, refusing one larger than a font may be before reading it.
pub fn read_file(path: &std::path::Path) -> Result<Vec<u8>, EngineError> {
    let size = std::fs::metadata(path).map_err(EngineError::ReadInput)?.len();
    if size > MAX_FONT_BYTES as u64 {
        return Err(too_large(size));
    }
    std::fs::read(path).map_err(EngineError::ReadInput)
}

fn too_large(bytes: u64) -> EngineError {
    EngineError::NotAFont(format!(
        "it is {} MiB, above the {} MiB a font may be",
        bytes >> 20,
        MAX_FONT_BYTES >> 20
    ))
}

/// What a font upload holds, as its upload describes it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct FontInfo {
    /// Its full name, as the font gives it.
    pub name: String,
    pub glyphs: u32,
    /// Where the file holds several (a collection), the first is used.
    pub faces: u32,
}

impl FontInfo {
    /// Reads `bytes` as a font and describes it; the error says why it is not one.
    pub fn of(bytes: &[u8]) -> Result<FontInfo, EngineError> {
        let font = Font::parse(bytes)?;
        Ok(FontInfo {
            name: font.name.clone(),
            glyphs: u32::from(font.face.number_of_glyphs()),
            faces: ttf_parser::fonts_in_collection(bytes).unwrap_or(1),
        })
    }

    /// The media type of a font file that starts with `bytes`.
    pub fn content_type(bytes: &[u8]) -> &'static str {
        match bytes.get(..4) {
            Some(b"OTTO") => "font/otf",
            Some(b"ttcf") => "font/collection",
            _ => "font/ttf",
        }
    }
}

/// A parsed font, its first face where the file holds several.
#[derive(Debug)]
pub struct Font<'a> {
    face: Face<'a>,
    name: String,
}

impl<'a> Font<'a> {
    /// Reads `bytes` as a font; a clear error when they are not one.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, EngineError> {
        if bytes.len() > MAX_FONT_BYTES {
            return Err(too_large(bytes.len() as u64));
        }
        if !sniff(bytes) {
            return Err(EngineError::NotAFont(
                "it does not start like a TrueType or OpenType font".into(),
            ));
        }
        let face = Face::parse(bytes, 0).map_err(|e| EngineError::NotAFont(e.to_string()))?;
        let name = face
            .names()
            .into_iter()
            .find(|n| n.name_id == ttf_parser::name_id::FULL_NAME && n.is_unicode())
            .and_then(|n| n.to_string())
            .unwrap_or_else(|| "the font".to_owned());
        Ok(Font { face, name })
    }

    pub fn bundled() -> Font<'static> {
        Font::parse(BUNDLED).expect("the bundled font parses")
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    fn units_per_em(&self) -> f64 {
        f64::from(self.face.units_per_em().max(1))
    }

    /// The height of capital letters in font units: the OS/2 table's, else the `H`'s.
    fn cap_height(&self) -> f64 {
        let from_table = self.face.capital_height().map(f64::from).filter(|&h| h > 0.0);
        let from_h = || {
            let id = self.face.glyph_index('H')?;
            let rect = self.face.glyph_bounding_box(id)?;
            Some(f64::from(rect.y_max)).filter(|&h| h > 0.0)
        };
        from_table.or_else(from_h).unwrap_or(0.7 * self.units_per_em())
    }

    fn line_height(&self) -> f64 {
        let f = &self.face;
        let h = f64::from(f.ascender()) - f64::from(f.descender()) + f64::from(f.line_gap());
        if h > 0.0 { h } else { 1.2 * self.units_per_em() }
    }

    fn kerning(&self, left: GlyphId, right: GlyphId) -> f64 {
        let Some(kern) = self.face.tables().kern else { return 0.0 };
        kern.subtables
            .into_iter()
            .filter(|s| s.horizontal && !s.variable && !s.has_cross_stream)
            .find_map(|s| s.glyphs_kerning(left, right))
            .map_or(0.0, f64::from)
    }
}

/// How the text is set.
#[derive(Clone, Copy, Debug)]
pub struct Setting<'t> {
    pub text: &'t TextLines,
    /// Height of capital letters.
    pub letter_height_mm: f64,
    /// Added between letters (negative pulls them together).
    pub letter_spacing_mm: f64,
    /// Baseline to baseline, as a multiple of the font's line height.
    pub line_spacing: f64,
    pub align: Align,
    /// The largest distance a flattened curve may stray from the font's.
    pub tolerance_mm: f64,
}

/// Closed contours in millimetres, as the font draws them (outer and inner contours wound
/// opposite ways; glyphs may overlap), baselines at y = 0 for the first line and below.
pub type Contours = Vec<Vec<[f64; 2]>>;

/// The text laid out in `font`: each glyph's contours, placed. Errors name a character the
/// font lacks.
pub fn lay_out(font: &Font<'_>, setting: &Setting<'_>) -> Result<Contours, EngineError> {
    let scale = setting.letter_height_mm / font.cap_height();
    let line_step = font.line_height() * setting.line_spacing * scale;
    let tolerance = setting.tolerance_mm / scale;
    let mut contours = Vec::new();
    for (row, line) in setting.text.lines().enumerate() {
        let mut placed: Vec<(GlyphId, f64)> = Vec::new();
        let mut pen = 0.0;
        let mut previous: Option<GlyphId> = None;
        for c in line.chars() {
            let id = match font.face.glyph_index(c) {
                Some(id) => id,
                None if c.is_whitespace() => {
                    pen += 0.25 * font.units_per_em() * scale + setting.letter_spacing_mm;
                    previous = None;
                    continue;
                }
                None => {
                    return Err(EngineError::MissingGlyph { ch: c, font: font.name().to_owned() });
                }
            };
            if let Some(left) = previous {
                pen += font.kerning(left, id) * scale;
            }
            placed.push((id, pen));
            let advance = font.face.glyph_hor_advance(id).map_or(0.0, f64::from);
            pen += advance * scale + setting.letter_spacing_mm;
            previous = Some(id);
        }
        let width = (pen - setting.letter_spacing_mm).max(0.0);
        let shift = match setting.align {
            Align::Left => 0.0,
            Align::Center => -width / 2.0,
            Align::Right => -width,
        };
        let baseline = -(row as f64) * line_step;
        for (id, x) in placed {
            let mut pen = Pen {
                origin: [x + shift, baseline],
                scale,
                tolerance,
                contours: &mut contours,
                current: Vec::new(),
                at: [0.0; 2],
            };
            font.face.outline_glyph(id, &mut pen);
            pen.close();
        }
    }
    contours.retain(|c| c.len() >= 3);
    Ok(contours)
}

/// Receives a glyph's outline in font units; flattens its curves and writes millimetres.
struct Pen<'c> {
    origin: [f64; 2],
    scale: f64,
    /// In font units.
    tolerance: f64,
    contours: &'c mut Contours,
    current: Vec<[f64; 2]>,
    /// The last point, in font units.
    at: [f64; 2],
}

impl Pen<'_> {
    fn point(&mut self, p: [f64; 2]) {
        let mm = [self.origin[0] + p[0] * self.scale, self.origin[1] + p[1] * self.scale];
        if self.current.last() != Some(&mm) {
            self.current.push(mm);
        }
        self.at = p;
    }

    /// Segments for a curve whose second derivative is at most `2 * bend` (font units): a
    /// chord over a parameter step `h` strays at most `bend * h^2 / 4` from it.
    fn segments(&self, bend: f64) -> usize {
        ((bend / (4.0 * self.tolerance)).sqrt().ceil() as usize).clamp(1, 64)
    }
}

impl OutlineBuilder for Pen<'_> {
    fn move_to(&mut self, x: f32, y: f32) {
        self.close();
        self.point([f64::from(x), f64::from(y)]);
    }

    fn line_to(&mut self, x: f32, y: f32) {
        self.point([f64::from(x), f64::from(y)]);
    }

    fn quad_to(&mut self, x1: f32, y1: f32, x: f32, y: f32) {
        let (p0, p1, p2) = (self.at, [f64::from(x1), f64::from(y1)], [f64::from(x), f64::from(y)]);
        let bend = (p0[0] - 2.0 * p1[0] + p2[0]).hypot(p0[1] - 2.0 * p1[1] + p2[1]);
        let n = self.segments(bend);
        for i in 1..=n {
            let t = i as f64 / n as f64;
            let u = 1.0 - t;
            let p = [0, 1].map(|k| u * u * p0[k] + 2.0 * u * t * p1[k] + t * t * p2[k]);
            self.point(p);
        }
    }

    fn curve_to(&mut self, x1: f32, y1: f32, x2: f32, y2: f32, x: f32, y: f32) {
        let p0 = self.at;
        let p1 = [f64::from(x1), f64::from(y1)];
        let p2 = [f64::from(x2), f64::from(y2)];
        let p3 = [f64::from(x), f64::from(y)];
        let bend_at = |a: [f64; 2], b: [f64; 2], c: [f64; 2]| {
            (a[0] - 2.0 * b[0] + c[0]).hypot(a[1] - 2.0 * b[1] + c[1])
        };
        let n = self.segments(3.0 * bend_at(p0, p1, p2).max(bend_at(p1, p2, p3)));
        for i in 1..=n {
            let t = i as f64 / n as f64;
            let u = 1.0 - t;
            let p = [0, 1].map(|k| {
                u * u * u * p0[k]
                    + 3.0 * u * u * t * p1[k]
                    + 3.0 * u * t * t * p2[k]
                    + t * t * t * p3[k]
            });
            self.point(p);
        }
    }

    fn close(&mut self) {
        let mut contour = std::mem::take(&mut self.current);
        if contour.len() > 1 && contour.first() == contour.last() {
            contour.pop();
        }
        if contour.len() >= 3 {
            self.contours.push(contour);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_that_is_not_a_font_is_refused_by_name() {
        for bytes in [&b"\x89PNG\r\n\x1a\n...."[..], b"", &[0, 1, 0, 0, 0, 0]] {
            let e = Font::parse(bytes).expect_err("refused");
            assert!(matches!(e, EngineError::NotAFont(_)), "{e}");
        }
        assert_eq!(Font::bundled().name(), BUNDLED_NAME);
    }
}
