//! The model of a job option ([`Field`]): how its value is written ([`ValueType`]), how its
//! default is shown ([`Shown`]), and which Rust types a request field may have
//! ([`FieldValue`]). The options themselves are declared in `request.rs`.

use super::JobMode;
use crate::model::{Prompt, Units};
use crate::palette::Palette;
use crate::params::{Outline, ShapeKind};
use crate::text::{Align, Layout, TextLines};
use crate::volume::{CtPreset, IsoValue, SeriesUid};
use crate::{Bevel, MaskSource, RawType, ThicknessModel};

/// How a field's value is written.
#[derive(Clone, Copy, Debug)]
pub enum ValueType {
    Number,
    Integer,
    /// `true` or `false`; on the command line, the flag alone means `true`.
    Flag,
    /// One of these names.
    Choice(&'static [&'static str]),
    /// A number, or one of `names`, each standing for the number `value` gives it.
    NumberOrChoice {
        names: &'static [&'static str],
        value: fn(&str) -> Option<f64>,
    },
    /// Text of at most `max_len` characters, each one of `chars`.
    Text {
        max_len: usize,
        chars: &'static str,
    },
    /// Exactly `len` numbers, comma-separated on the command line.
    List {
        len: usize,
        integer: bool,
    },
}

/// A default, as the help, the schema and the form show it (in JSON, the bare value).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
#[serde(untagged)]
pub enum Shown {
    Number(f64),
    Integer(u64),
    Flag(bool),
    Name(&'static str),
    /// A list's numbers (in JSON, an array).
    Numbers(&'static [f64]),
}

impl std::fmt::Display for Shown {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Shown::Number(n) => write!(f, "{n}"),
            Shown::Integer(n) => write!(f, "{n}"),
            Shown::Flag(b) => write!(f, "{b}"),
            Shown::Name(s) => f.write_str(s),
            Shown::Numbers(list) => {
                let items: Vec<String> = list.iter().map(f64::to_string).collect();
                f.write_str(&items.join(","))
            }
        }
    }
}

/// One option of a job: its name (snake_case, as the API spells it; the CLI's flag is the
/// kebab-case form), what it means and what it accepts.
#[derive(Clone, Copy, Debug)]
pub struct Field {
    pub name: &'static str,
    /// A short label for forms.
    pub label: &'static str,
    pub(super) help: &'static str,
    pub value: ValueType,
    /// The unit, for the help and the form: `mm`, `px`, `points`.
    pub unit: &'static str,
    /// Inclusive bounds, where they are fixed.
    pub range: Option<(f64, f64)>,
    /// The modes it applies to; giving it for another is an error.
    pub modes: &'static [JobMode],
    pub default: Option<Shown>,
    /// Defaults that differ from `default` in some modes.
    pub mode_defaults: &'static [(JobMode, Shown)],
    /// The default in words, where it is not a constant (`max_mm`, Otsu's threshold).
    pub default_note: Option<&'static str>,
    /// Another name the CLI accepts.
    pub alias: Option<&'static str>,
    /// Modes whose form shows it up front rather than under "more options".
    pub basic: &'static [JobMode],
    /// The shape it belongs to (`shape`); giving it for another is an error, and the form
    /// shows it beside the shape picker when that shape is picked.
    pub shape: Option<ShapeKind>,
}

impl Field {
    pub(super) const BLANK: Field = Field {
        name: "",
        label: "",
        help: "",
        value: ValueType::Number,
        unit: "",
        range: None,
        modes: JobMode::ALL,
        default: None,
        mode_defaults: &[],
        default_note: None,
        alias: None,
        basic: &[],
        shape: None,
    };

    /// What the field means, one paragraph.
    pub fn help(&self) -> &'static str {
        self.help.trim()
    }

    /// The CLI's flag, without its dashes.
    pub fn flag(&self) -> String {
        self.name.replace('_', "-")
    }

    /// The default in `mode`.
    pub fn default_in(&self, mode: JobMode) -> Option<Shown> {
        self.mode_defaults.iter().find(|(m, _)| *m == mode).map(|(_, d)| *d).or(self.default)
    }

    /// The default as the help says it: `4096; solid: 1024`, `max_mm`, or nothing.
    pub fn default_text(&self) -> Option<String> {
        let mut text = match (self.default, self.default_note) {
            (Some(d), _) => d.to_string(),
            (None, Some(note)) => note.to_owned(),
            (None, None) => return None,
        };
        for (mode, value) in self.mode_defaults {
            text.push_str(&format!("; {mode}: {value}"));
        }
        Some(text)
    }
}

/// A request field's type: how it is written, and (with the `cli` feature) parsed.
pub trait FieldValue: Clone + Send + Sync + 'static {
    const VALUE: ValueType;
}

macro_rules! field_value {
    ($($ty:ty => $value:expr),* $(,)?) => {
        $(impl FieldValue for $ty {
            const VALUE: ValueType = $value;
        })*
    };
}

field_value! {
    f64 => ValueType::Number,
    f32 => ValueType::Number,
    u32 => ValueType::Integer,
    bool => ValueType::Flag,
    MaskSource => ValueType::Choice(MaskSource::NAMES),
    ThicknessModel => ValueType::Choice(ThicknessModel::NAMES),
    ShapeKind => ValueType::Choice(ShapeKind::NAMES),
    Outline => ValueType::Choice(Outline::NAMES),
    Bevel => ValueType::Choice(Bevel::NAMES),
    RawType => ValueType::Choice(RawType::NAMES),
    IsoValue => ValueType::NumberOrChoice { names: CtPreset::NAMES, value: CtPreset::value_of },
    SeriesUid => ValueType::Text { max_len: SeriesUid::MAX_LEN, chars: "0-9." },
    Units => ValueType::Choice(Units::NAMES),
    Layout => ValueType::Choice(Layout::NAMES),
    Align => ValueType::Choice(Align::NAMES),
    TextLines => ValueType::Text { max_len: TextLines::MAX_CHARS, chars: TextLines::PATTERN_CHARS },
    Prompt => ValueType::Text { max_len: Prompt::MAX_CHARS, chars: Prompt::PATTERN_CHARS },
    Palette => ValueType::Text { max_len: 24 * crate::palette::MAX_FILAMENTS, chars: "0-9a-fA-F#:,. " },
    [f32; 3] => ValueType::List { len: 3, integer: false },
    [usize; 3] => ValueType::List { len: 3, integer: true },
    [usize; 6] => ValueType::List { len: 6, integer: true },
}
