//! [`JobRequest`] as clap arguments: one `--kebab-case` flag per field of the table, its help
//! ending in its default, grouped by the modes it applies to.

use clap::builder::{PossibleValuesParser, TypedValueParser, ValueParser};
use clap::{Arg, ArgAction, ArgMatches, Args, Command, FromArgMatches};

use super::field::{FieldValue, ValueType};
use super::request::field;
use super::{JobMode, JobRequest};
use crate::model::{Prompt, Units};
use crate::palette::Palette;
use crate::params::{Outline, ShapeKind};
use crate::text::{Align, Layout, TextLines};
use crate::volume::{IsoValue, SeriesUid};
use crate::{Bevel, MaskSource, RawType, ThicknessModel};

/// How a field's type is read from the command line.
pub trait CliValue: FieldValue {
    fn parser() -> ValueParser;
}

macro_rules! plain {
    ($($ty:ty),*) => {
        $(impl CliValue for $ty {
            fn parser() -> ValueParser {
                clap::value_parser!($ty).into()
            }
        })*
    };
}

plain!(f64, f32, u32, bool);

macro_rules! choice_parsers {
    ($($ty:ty),*) => {
        $(impl CliValue for $ty {
            fn parser() -> ValueParser {
                PossibleValuesParser::new(<$ty>::NAMES)
                    .try_map(|name| name.parse::<$ty>().map_err(|e| e.message))
                    .into()
            }
        })*
    };
}

choice_parsers!(
    MaskSource,
    Bevel,
    RawType,
    ThicknessModel,
    ShapeKind,
    Outline,
    Units,
    Layout,
    Align
);

macro_rules! from_str_parsers {
    ($($ty:ty),*) => {
        $(impl CliValue for $ty {
            fn parser() -> ValueParser {
                ValueParser::new(|s: &str| s.parse::<$ty>().map_err(|e| e.message))
            }
        })*
    };
}

from_str_parsers!(IsoValue, SeriesUid, Palette, TextLines, Prompt);

impl<T, const N: usize> CliValue for [T; N]
where
    T: std::str::FromStr + Copy + Send + Sync + 'static,
    [T; N]: FieldValue,
{
    fn parser() -> ValueParser {
        ValueParser::new(list::<T, N>)
    }
}

/// Exactly `N` comma-separated values.
fn list<T: std::str::FromStr, const N: usize>(text: &str) -> Result<[T; N], String> {
    let values = text
        .split(',')
        .map(|v| v.trim().parse::<T>().map_err(|_| format!("`{v}` is not a valid number")))
        .collect::<Result<Vec<T>, String>>()?;
    let count = values.len();
    values.try_into().map_err(|_| format!("expected {N} comma-separated values, got {count}"))
}

/// The heading a field's flag is listed under: the modes it applies to.
fn heading(modes: &[JobMode]) -> &'static str {
    match modes {
        [JobMode::Relief] => "Relief",
        [JobMode::Lithophane] => "Lithophane",
        [JobMode::Solid] => "Solid",
        [JobMode::Volume] => "Volume",
        [JobMode::Mesh] => "3D file (mesh)",
        [JobMode::Prompt] => "Prompt",
        [JobMode::Mesh, JobMode::Prompt, JobMode::Sculpt] => {
            "3D file and generated model (mesh, prompt and sculpt)"
        }
        [JobMode::Text] => "Text",
        [JobMode::Solid, JobMode::Text] => "Solid and text",
        [JobMode::Relief, JobMode::Lithophane, JobMode::Solid, JobMode::Text] => {
            "Image and text (relief, lithophane, solid and text)"
        }
        _ => "Image (relief, lithophane and solid)",
    }
}

/// The argument for the field `name`.
pub(super) fn arg<T: CliValue>(name: &'static str) -> Arg {
    let field = field(name).expect("every request field is in the table");
    let mut help = as_flags(field.help());
    if !field.unit.is_empty() && !matches!(field.value, ValueType::Flag) {
        help.push_str(&format!(" In {}.", field.unit));
    }
    if let Some(default) = field.default_text() {
        help.push_str(&format!(" [default: {}]", as_flags(&default)));
    }
    let mut arg = Arg::new(name)
        .long(field.flag())
        .help(help)
        .help_heading(heading(field.modes))
        .value_name(name.to_uppercase())
        .value_parser(T::parser());
    arg = match field.value {
        // `--invert` alone is true; `--invert=false` is accepted too.
        ValueType::Flag => arg
            .num_args(0..=1)
            .require_equals(true)
            .default_missing_value("true")
            .hide_possible_values(true)
            .action(ArgAction::Set),
        ValueType::Number | ValueType::NumberOrChoice { .. } => arg.allow_negative_numbers(true),
        ValueType::List { len, .. } => {
            let axes = ["X", "Y", "Z"];
            let names: Vec<String> = (0..len)
                .map(|i| {
                    format!(
                        "{}{}",
                        axes[i % 3],
                        if len > 3 { (i / 3).to_string() } else { String::new() }
                    )
                })
                .collect();
            arg.value_name(names.join(",")).allow_negative_numbers(true)
        }
        ValueType::Integer | ValueType::Choice(_) | ValueType::Text { .. } => arg,
    };
    if let Some(alias) = field.alias {
        arg = arg.visible_alias(alias);
    }
    arg
}

impl FromArgMatches for JobRequest {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        Ok(JobRequest::from_cli(matches))
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        *self = JobRequest::from_cli(matches);
        Ok(())
    }
}

impl Args for JobRequest {
    fn augment_args(cmd: Command) -> Command {
        cmd.args(JobRequest::cli_args())
    }

    fn augment_args_for_update(cmd: Command) -> Command {
        Self::augment_args(cmd)
    }
}

/// `--mode`: the modes, each with its summary.
pub fn mode_parser() -> impl TypedValueParser<Value = JobMode> {
    let values =
        JobMode::ALL.iter().map(|m| clap::builder::PossibleValue::new(m.name()).help(m.summary()));
    PossibleValuesParser::new(values).try_map(|name| name.parse::<JobMode>().map_err(|e| e.message))
}

/// A message of the engine's, its names spelled as flags: every lowercase name it quotes in
/// backticks (`max_grid` becomes --max-grid). Other quoted text keeps its backticks.
pub fn as_flags(message: &str) -> String {
    if message.matches('`').count() % 2 == 1 {
        return message.to_owned();
    }
    let mut out = String::with_capacity(message.len());
    for (i, part) in message.split('`').enumerate() {
        let quoted = i % 2 == 1;
        if quoted && !part.is_empty() && part.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
            out.push_str("--");
            out.push_str(&part.replace('_', "-"));
        } else if quoted {
            out.push('`');
            out.push_str(part);
            out.push('`');
        } else {
            out.push_str(part);
        }
    }
    out
}
