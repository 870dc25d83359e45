//! Multi-colour layer reliefs, HueForge-style: a relief printed in whole layers, one filament
//! after another from the bottom up, whose colours show through each other by their
//! transmission distance (TD).
//!
//! [`Layers::plan`] chooses the layer where each filament starts, and which layer each shade
//! of the image tops out at, so that the colours seen from the front match the image's
//! brightness as closely as the filaments allow:
//!
//! - **The colour model.** A point whose top is layer `n` shows the first filament (the
//!   base), then each layer above it in turn lays its filament over what is beneath: in linear
//!   light, `C = F (1 - τ) + C τ`, where a layer of `layer_mm` passes `τ = 10^(-layer_mm / TD)`
//!   of what is beneath (Beer-Lambert, the same TD as a lithophane's transmittance model: the
//!   thickness that passes a tenth). Its brightness is the Rec. 709 luma of the encoded
//!   colour, as the luminance stage measures the image.
//! - **The search.** Every choice of start layers when there are few (at most
//!   [`EXHAUSTIVE`]), otherwise coordinate descent from even spacing. For each choice the
//!   best non-decreasing map from the image's 256 brightness levels to layers is found
//!   exactly by dynamic programming over the levels' histogram, so brighter never prints
//!   lower and the relief keeps its shape.
//!
//! The relief's heights are then snapped to whole layers ([`Plan::snap`]), and the swaps go
//! into the report, the 3MF (PrusaSlicer's and Bambu Studio/OrcaSlicer's colour changes) and
//! a text list.

use std::fmt;
use std::str::FromStr;

use crate::ParamError;
use crate::cpu::luminance::REC709;

/// The most filaments a palette holds.
pub const MAX_FILAMENTS: usize = 8;
/// Brightness levels the search distinguishes.
pub const LEVELS: usize = 256;
/// The most start-layer choices tried one by one; more are searched by coordinate descent.
pub const EXHAUSTIVE: u64 = 4000;
/// Layer heights accepted, in millimetres.
pub const LAYER_MM: (f32, f32) = (0.02, 1.0);

/// One filament: its colour and its transmission distance.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Filament {
    /// sRGB.
    pub rgb: [u8; 3],
    /// The thickness that passes a tenth of the light, in millimetres.
    pub td_mm: f32,
}

/// Filaments from the bottom up, kept inline so that job options stay `Copy`.
#[derive(Clone, Copy, PartialEq)]
pub struct Palette {
    len: u8,
    filaments: [Filament; MAX_FILAMENTS],
}

impl Palette {
    pub fn filaments(&self) -> &[Filament] {
        &self.filaments[..usize::from(self.len)]
    }
}

fn palette_error(message: String) -> ParamError {
    ParamError::new("palette", message)
}

impl FromStr for Palette {
    type Err = ParamError;
    fn from_str(s: &str) -> Result<Self, ParamError> {
        let example = "such as `#1a1a1a:0.6,#808080:1.5,#ffffff:3` (colour:TD in mm, from the \
                       bottom up)";
        let items: Vec<&str> = s.split(',').map(str::trim).filter(|i| !i.is_empty()).collect();
        if items.is_empty() || items.len() > MAX_FILAMENTS {
            return Err(palette_error(format!(
                "must list 1 to {MAX_FILAMENTS} filaments, {example}; got {} in `{s}`",
                items.len()
            )));
        }
        let blank = Filament { rgb: [0; 3], td_mm: 1.0 };
        let mut filaments = [blank; MAX_FILAMENTS];
        for (slot, item) in filaments.iter_mut().zip(&items) {
            let (colour, td) = item.split_once(':').ok_or_else(|| {
                palette_error(format!("`{item}` needs a colour and a TD, {example}"))
            })?;
            let hex = colour.trim().trim_start_matches('#');
            let rgb = (hex.len() == 6 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
                .then(|| {
                    [0, 2, 4].map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex digits"))
                })
                .ok_or_else(|| {
                    palette_error(format!("`{colour}` is not a colour like #ff8800, {example}"))
                })?;
            let td_mm: f32 = td.trim().parse().map_err(|_| {
                palette_error(format!("`{td}` is not a TD in millimetres, {example}"))
            })?;
            if !(0.05..=100.0).contains(&td_mm) {
                return Err(palette_error(format!(
                    "a TD must be 0.05 to 100 mm (white PLA is about 3), got {td_mm} in `{item}`"
                )));
            }
            *slot = Filament { rgb, td_mm };
        }
        Ok(Palette { len: items.len() as u8, filaments })
    }
}

impl fmt::Display for Palette {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, filament) in self.filaments().iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{}:{}", hex(filament.rgb), filament.td_mm)?;
        }
        Ok(())
    }
}

impl fmt::Debug for Palette {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Palette({self})")
    }
}

impl serde::Serialize for Palette {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Palette {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(|e: ParamError| serde::de::Error::custom(e.message))
    }
}

/// `#rrggbb`.
pub fn hex(rgb: [u8; 3]) -> String {
    format!("#{:02x}{:02x}{:02x}", rgb[0], rgb[1], rgb[2])
}

/// A relief printed in layers of a palette's filaments.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Layers {
    pub palette: Palette,
    /// The print's layer height; the first layer is as high.
    pub layer_mm: f32,
    /// Layers of the first filament under the image.
    pub base_layers: u32,
    /// Layers the image spans above the base.
    pub relief_layers: u32,
}

/// Where one filament starts.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Swap {
    /// The first layer printed in it, counted from 1 at the bed.
    pub layer: u32,
    /// That layer's top, as slicers name a layer (PrusaSlicer's `print_z`), to 0.1 µm.
    pub z_mm: f64,
    /// Which filament, counted from 1 at the bottom of the palette.
    pub filament: usize,
    /// Its colour, `#rrggbb`.
    pub colour: String,
}

/// The chosen start layers and shades ([`Layers::plan`]).
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    pub layers: Layers,
    /// Per filament after the first, the relief layer (1 = the first above the base) it
    /// starts at, increasing.
    pub starts: Vec<u32>,
    /// The colour seen where the top is relief layer `k` (0: the base's top), sRGB.
    pub colours: Vec<[u8; 3]>,
    /// Per brightness level, the relief layer it tops out at; never decreasing.
    pub level_layer: Vec<u32>,
    /// The mean squared difference between the image's brightness and the colours' luma
    /// over the planned points, in 0..1 units.
    pub error: f64,
}

fn linear(c: u8) -> f32 {
    let c = f32::from(c) / 255.0;
    if c <= 0.04045 { c / 12.92 } else { ((c + 0.055) / 1.055).powf(2.4) }
}

fn encoded(c: f32) -> f32 {
    let c = c.clamp(0.0, 1.0);
    if c <= 0.003_130_8 { c * 12.92 } else { 1.055 * c.powf(1.0 / 2.4) - 0.055 }
}

fn luma(rgb: [f32; 3]) -> f32 {
    let [r, g, b] = rgb.map(encoded);
    REC709[0] * r + REC709[1] * g + REC709[2] * b
}

impl Layers {
    /// The level of a point `y` (0..1 brightness).
    pub fn level(y: f32) -> usize {
        ((y.clamp(0.0, 1.0) * LEVELS as f32) as usize).min(LEVELS - 1)
    }

    /// The colour seen at each relief layer `0..=relief_layers`, in linear light, for the
    /// filaments starting at `starts`.
    fn colours(&self, starts: &[u32]) -> Vec<[f32; 3]> {
        let filaments = self.palette.filaments();
        let mut colour = filaments[0].rgb.map(linear);
        let mut current = 0;
        let mut out = Vec::with_capacity(self.relief_layers as usize + 1);
        out.push(colour);
        for k in 1..=self.relief_layers {
            while current < starts.len() && starts[current] <= k {
                current += 1;
            }
            let filament = filaments[current];
            let passes = 10f32.powf(-self.layer_mm / filament.td_mm);
            let top = filament.rgb.map(linear);
            for c in 0..3 {
                colour[c] = top[c] * (1.0 - passes) + colour[c] * passes;
            }
            out.push(colour);
        }
        out
    }

    /// Plans the layers of a relief's `thickness` map (`base_mm + relief_mm * y` at the
    /// points `inside` keeps) and snaps it to them.
    pub fn apply(
        &self,
        thickness: &mut [f32],
        inside: &[u32],
        base_mm: f32,
        relief_mm: f32,
    ) -> Result<Plan, ParamError> {
        let plan = self.plan(&histogram(thickness, inside, base_mm, relief_mm))?;
        plan.snap(thickness, inside, base_mm, relief_mm);
        Ok(plan)
    }

    /// Chooses where each filament starts and which layer each brightness level tops out
    /// at, for points whose levels are counted in `histogram` ([`LEVELS`] counts).
    pub fn plan(&self, histogram: &[u64]) -> Result<Plan, ParamError> {
        let n = self.palette.filaments().len();
        let k = self.relief_layers;
        if (n as u32 - 1) > k {
            return Err(palette_error(format!(
                "{n} filaments need at least {} layers above the base, and `relief_mm` makes \
                 {k} of `layer_mm`; raise `relief_mm` or lower `layer_mm`",
                n - 1
            )));
        }
        let levels: Vec<(f32, f64)> = histogram
            .iter()
            .enumerate()
            .filter(|(_, count)| **count > 0)
            .map(|(level, count)| ((level as f32 + 0.5) / LEVELS as f32, *count as f64))
            .collect();
        let total: f64 = levels.iter().map(|l| l.1).sum::<f64>().max(1.0);
        let cost = |starts: &[u32]| fit(&self.colours(starts), &levels, false).0;
        let swaps = n - 1;
        let starts = if choices(u64::from(k), swaps as u64) <= EXHAUSTIVE {
            let mut best = (f64::INFINITY, Vec::new());
            each_choice(k, swaps, &mut |starts| {
                let c = cost(starts);
                if c < best.0 {
                    best = (c, starts.to_vec());
                }
            });
            best.1
        } else {
            descend(k, swaps, &cost)
        };
        let linear_colours = self.colours(&starts);
        let (sum, chosen) = fit(&linear_colours, &levels, true);
        let mut level_layer = vec![0; LEVELS];
        // Each level takes its own layer; empty levels the layer of the next level below (so
        // the map stays non-decreasing), or of the first level above for the darkest.
        let mut filled = levels.iter().zip(&chosen).peekable();
        let mut last = chosen.first().copied().unwrap_or(0);
        for (level, slot) in level_layer.iter_mut().enumerate() {
            if let Some((l, layer)) = filled.peek()
                && Layers::level(l.0) == level
            {
                last = **layer;
                filled.next();
            }
            *slot = last;
        }
        let colours =
            linear_colours.iter().map(|c| c.map(|v| (encoded(v) * 255.0).round() as u8)).collect();
        Ok(Plan { layers: *self, starts, colours, level_layer, error: sum / total })
    }
}

/// `n` choose `r`, saturating.
fn choices(n: u64, r: u64) -> u64 {
    (0..r).fold(1u64, |acc, i| acc.saturating_mul(n - i) / (i + 1))
}

/// Calls `f` with every strictly increasing choice of `r` layers in `1..=k`.
fn each_choice(k: u32, r: usize, f: &mut dyn FnMut(&[u32])) {
    fn rec(k: u32, r: usize, from: u32, chosen: &mut Vec<u32>, f: &mut dyn FnMut(&[u32])) {
        if chosen.len() == r {
            return f(chosen);
        }
        let left = (r - chosen.len()) as u32;
        for s in from..=k + 1 - left {
            chosen.push(s);
            rec(k, r, s + 1, chosen, f);
            chosen.pop();
        }
    }
    rec(k, r, 1, &mut Vec::with_capacity(r), f);
}

/// Coordinate descent over `r` start layers in `1..=k`, from even spacing.
fn descend(k: u32, r: usize, cost: &dyn Fn(&[u32]) -> f64) -> Vec<u32> {
    let mut starts: Vec<u32> =
        (1..=r as u32).map(|i| (i * (k + 1) / (r as u32 + 1)).max(i)).collect();
    for i in 1..r {
        starts[i] = starts[i].max(starts[i - 1] + 1);
    }
    let mut best = cost(&starts);
    for _ in 0..50 {
        let mut moved = false;
        for i in 0..r {
            let lo = if i == 0 { 1 } else { starts[i - 1] + 1 };
            let hi = if i + 1 == r { k } else { starts[i + 1] - 1 };
            for s in lo..=hi {
                let old = starts[i];
                starts[i] = s;
                let c = cost(&starts);
                if c < best {
                    best = c;
                    moved = true;
                } else {
                    starts[i] = old;
                }
            }
        }
        if !moved {
            break;
        }
    }
    starts
}

/// The least weighted squared luma error of a non-decreasing map from `levels` (brightness,
/// count) to layers with `colours`, and, when `choose`, each level's layer.
fn fit(colours: &[[f32; 3]], levels: &[(f32, f64)], choose: bool) -> (f64, Vec<u32>) {
    let lumas: Vec<f64> = colours.iter().map(|c| f64::from(luma(*c))).collect();
    let layers = lumas.len();
    // best[k]: the least cost of the levels so far with the last one's layer at most k.
    let mut best = vec![0.0f64; layers];
    let mut arg: Vec<Vec<u32>> = Vec::new();
    for &(y, count) in levels {
        let mut running = f64::INFINITY;
        let mut running_arg = 0;
        let mut args = if choose { vec![0; layers] } else { Vec::new() };
        for k in 0..layers {
            let d = lumas[k] - f64::from(y);
            let here = count * d * d + best[k];
            if here < running {
                running = here;
                running_arg = k as u32;
            }
            best[k] = running;
            if choose {
                args[k] = running_arg;
            }
        }
        if choose {
            arg.push(args);
        }
    }
    let total = best.last().copied().unwrap_or(0.0);
    if !choose {
        return (total, Vec::new());
    }
    let mut chosen = vec![0; levels.len()];
    let mut bound = layers - 1;
    for i in (0..levels.len()).rev() {
        let k = arg[i][bound];
        chosen[i] = k;
        bound = k as usize;
    }
    (total, chosen)
}

impl Plan {
    /// The filament swaps, bottom up.
    pub fn swaps(&self) -> Vec<Swap> {
        let layers = &self.layers;
        self.starts
            .iter()
            .enumerate()
            .map(|(i, start)| {
                let layer = layers.base_layers + start;
                Swap {
                    layer,
                    z_mm: (f64::from(layer) * f64::from(layers.layer_mm) * 1e4).round() / 1e4,
                    filament: i + 2,
                    colour: hex(layers.palette.filaments()[i + 1].rgb),
                }
            })
            .collect()
    }

    /// The swaps as a slicer's colour changes.
    pub fn colour_changes(&self) -> Vec<crate::export::ColourChange> {
        self.swaps()
            .into_iter()
            .map(|s| crate::export::ColourChange { z_mm: s.z_mm, colour: s.colour })
            .collect()
    }

    /// The swaps as text ([`swap_text`]).
    pub fn swap_text(&self) -> String {
        swap_text(&self.layers, &self.swaps())
    }

    /// Snaps each planned point's thickness to the top of the layer its level is planned at.
    fn snap(&self, thickness: &mut [f32], inside: &[u32], base_mm: f32, relief_mm: f32) {
        use rayon::prelude::*;
        let layers = self.layers;
        thickness.par_iter_mut().zip(inside.par_iter()).for_each(|(t, inside)| {
            if *inside != 0 {
                let k = self.level_layer[level_of(*t, base_mm, relief_mm)];
                *t = (layers.base_layers + k) as f32 * layers.layer_mm;
            }
        });
    }

    /// The colour seen where the top is at `thickness` mm.
    pub fn colour_at(&self, thickness: f32) -> [u8; 3] {
        let layer = (thickness / self.layers.layer_mm).round() as i64;
        let k =
            (layer - i64::from(self.layers.base_layers)).clamp(0, self.colours.len() as i64 - 1);
        self.colours[k as usize]
    }

    /// The expected colours of `hf`, at most `max_side` pixels on its long side; points
    /// outside the mask are transparent.
    pub fn preview(&self, hf: &crate::Heightfield, max_side: u32) -> image::RgbaImage {
        let step = hf.width.max(hf.height).div_ceil(max_side).max(1);
        let (w, h) = (hf.width.div_ceil(step), hf.height.div_ceil(step));
        image::RgbaImage::from_fn(w, h, |x, y| {
            let (gx, gy) = ((x * step).min(hf.width - 1), (y * step).min(hf.height - 1));
            let (cx, cy) = (i64::from(gx), i64::from(gy));
            let solid = [(cx - 1, cy - 1), (cx, cy - 1), (cx - 1, cy), (cx, cy)]
                .iter()
                .any(|&(x, y)| hf.cells.is_solid(x, y));
            if !solid {
                return image::Rgba([0, 0, 0, 0]);
            }
            let [r, g, b] = self.colour_at(hf.thickness[(gy * hf.width + gx) as usize]);
            image::Rgba([r, g, b, 255])
        })
    }
}

/// `image` (a [`Plan::preview`]) as a PNG file's bytes.
pub fn png(image: &image::RgbaImage) -> Vec<u8> {
    crate::thumbnail::encode_png(
        image.as_raw(),
        image.width(),
        image.height(),
        image::ExtendedColorType::Rgba8,
    )
}

/// A palette relief's `swaps` as text, a line each, after the layer height and the first
/// filament.
pub fn swap_text(layers: &Layers, swaps: &[Swap]) -> String {
    let first = layers.palette.filaments()[0];
    let mut text = format!(
        "Layer height {} mm (the first layer too); {} layers in all.\nStart with filament 1 \
         {} (TD {} mm).\n",
        layers.layer_mm,
        layers.base_layers + layers.relief_layers,
        hex(first.rgb),
        first.td_mm
    );
    for swap in swaps {
        let td = layers.palette.filaments()[swap.filament - 1].td_mm;
        text.push_str(&format!(
            "Layer {} (top at {:.2} mm): swap to filament {} {} (TD {td} mm)\n",
            swap.layer, swap.z_mm, swap.filament, swap.colour
        ));
    }
    text
}

/// The brightness level of a relief's thickness `t` (`base_mm + relief_mm * y`).
fn level_of(t: f32, base_mm: f32, relief_mm: f32) -> usize {
    Layers::level(if relief_mm > 0.0 { (t - base_mm) / relief_mm } else { 0.0 })
}

/// The histogram of brightness levels of the points `inside` keeps.
fn histogram(thickness: &[f32], inside: &[u32], base_mm: f32, relief_mm: f32) -> Vec<u64> {
    let mut counts = vec![0u64; LEVELS];
    for (t, inside) in thickness.iter().zip(inside) {
        if *inside != 0 {
            counts[level_of(*t, base_mm, relief_mm)] += 1;
        }
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layers(palette: &str, relief_layers: u32) -> Layers {
        Layers { palette: palette.parse().unwrap(), layer_mm: 0.08, base_layers: 5, relief_layers }
    }

    #[test]
    fn palettes_parse_and_refuse_with_the_field() {
        let p: Palette = "#000000:0.6, 808080:1.5,#FFFFFF:3".parse().unwrap();
        assert_eq!(p.filaments().len(), 3);
        assert_eq!(p.filaments()[1], Filament { rgb: [128, 128, 128], td_mm: 1.5 });
        assert_eq!(p.to_string().parse::<Palette>().unwrap(), p);
        for bad in ["", "#12345:1", "#123456", "#123456:0", "#123456:x", &"#000000:1,".repeat(9)] {
            assert_eq!(bad.parse::<Palette>().unwrap_err().field, "palette", "{bad}");
        }
    }

    #[test]
    fn every_choice_is_visited_once_in_order() {
        let mut seen = Vec::new();
        each_choice(5, 2, &mut |s| seen.push(s.to_vec()));
        assert_eq!(seen.len() as u64, choices(5, 2));
        assert!(seen.iter().all(|s| s[0] >= 1 && s[0] < s[1] && s[1] <= 5));
    }

    #[test]
    fn the_fit_is_the_best_monotone_map() {
        // Brute force over every non-decreasing map of 4 levels to 4 layers.
        let l = layers("#000000:0.3,#ff0000:0.5,#ffffff:2", 3);
        let colours = l.colours(&[1, 2]);
        let levels = [(0.1, 3.0), (0.4, 1.0), (0.6, 2.0), (0.9, 5.0)];
        let (best, chosen) = fit(&colours, &levels, true);
        let lumas: Vec<f64> = colours.iter().map(|c| f64::from(luma(*c))).collect();
        let mut brute = f64::INFINITY;
        for a in 0..4 {
            for b in a..4 {
                for c in b..4 {
                    for d in c..4 {
                        let cost: f64 = [a, b, c, d]
                            .iter()
                            .zip(&levels)
                            .map(|(k, (y, n))| n * (lumas[*k] - f64::from(*y)).powi(2))
                            .sum();
                        brute = brute.min(cost);
                    }
                }
            }
        }
        assert!((best - brute).abs() < 1e-12, "{best} vs {brute}");
        assert!(chosen.windows(2).all(|w| w[0] <= w[1]));
    }

    #[test]
    fn a_dark_to_light_palette_beats_one_filament_and_its_swaps_rise() {
        let histogram: Vec<u64> = (0..LEVELS as u64).map(|l| 1 + l % 7).collect();
        let many = layers("#101010:0.5,#3060c0:0.8,#c0c0c0:1.2,#ffffff:2.5", 30).plan(&histogram);
        let many = many.unwrap();
        let one = layers("#ffffff:2.5", 30).plan(&histogram).unwrap();
        assert!(many.error < one.error / 10.0, "{} vs {}", many.error, one.error);
        let swaps = many.swaps();
        assert_eq!(swaps.len(), 3);
        assert!(swaps.windows(2).all(|w| w[0].layer < w[1].layer && w[0].z_mm < w[1].z_mm));
        assert!(swaps.iter().all(|s| s.layer > 5 && s.layer <= 35));
        // Descent (forced) finds no worse than a tenth more than the exhaustive search.
        let l = layers("#101010:0.5,#3060c0:0.8,#c0c0c0:1.2,#ffffff:2.5", 30);
        let levels: Vec<(f32, f64)> = histogram
            .iter()
            .enumerate()
            .map(|(i, c)| ((i as f32 + 0.5) / 256.0, *c as f64))
            .collect();
        let starts = descend(30, 3, &|s| fit(&l.colours(s), &levels, false).0);
        let total: f64 = histogram.iter().sum::<u64>() as f64;
        let descended = fit(&l.colours(&starts), &levels, false).0 / total;
        assert!(descended <= many.error * 1.1 + 1e-9, "{descended} vs {}", many.error);
    }

    #[test]
    fn too_few_layers_for_the_filaments_is_refused() {
        let error = layers("#000000:1,#444444:1,#888888:1,#ffffff:1", 2).plan(&[1; LEVELS]);
        assert_eq!(error.unwrap_err().field, "palette");
    }
}
