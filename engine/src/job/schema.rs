//! [`JobRequest`] and [`JobMode`] as OpenAPI schemas, from the request's table: each field's
//! type, bounds, default and help, and, for the web form that renders them, its label, unit
//! and modes as `x-` extensions.

use std::borrow::Cow;

use serde_json::{Value, json};
use utoipa::openapi::extensions::ExtensionsBuilder;
use utoipa::openapi::schema::{
    AdditionalProperties, ArrayBuilder, ObjectBuilder, OneOfBuilder, Type,
};
use utoipa::openapi::{RefOr, Schema};

use super::field::{Field, ValueType};
use super::request::FIELDS;
use super::{JobMode, JobRequest};
use crate::MeshFormat;

fn names(modes: &[JobMode]) -> Value {
    json!(modes.iter().map(|m| m.name()).collect::<Vec<_>>())
}

fn property(field: &Field) -> RefOr<Schema> {
    let mut help = field.help().to_owned();
    if let Some(default) = field.default_text() {
        help.push_str(&format!(" [default: {default}]"));
    }
    let mut extensions = ExtensionsBuilder::new()
        .add("x-label", json!(field.label))
        .add("x-modes", names(field.modes))
        .add("x-basic", names(field.basic));
    if !field.unit.is_empty() {
        extensions = extensions.add("x-unit", json!(field.unit));
    }
    if !field.mode_defaults.is_empty() {
        let by_mode: serde_json::Map<String, Value> =
            field.mode_defaults.iter().map(|(m, d)| (m.name().to_owned(), json!(d))).collect();
        extensions = extensions.add("x-mode-defaults", Value::Object(by_mode));
    }
    if let Some(note) = field.default_note {
        extensions = extensions.add("x-default-note", json!(note));
    }
    if let Some(shape) = field.shape {
        extensions = extensions.add("x-shape", json!(shape.name()));
    }
    let (min, max) = field.range.unzip();
    let scalar = |kind: Type| ObjectBuilder::new().schema_type(kind).minimum(min).maximum(max);
    let schema: RefOr<Schema> = match field.value {
        ValueType::Number | ValueType::Integer | ValueType::Flag | ValueType::Choice(_) => {
            let base = match field.value {
                ValueType::Number => scalar(Type::Number),
                ValueType::Integer => scalar(Type::Integer),
                ValueType::Flag => ObjectBuilder::new().schema_type(Type::Boolean),
                ValueType::Choice(names) => ObjectBuilder::new()
                    .schema_type(Type::String)
                    .enum_values(Some(names.iter().copied())),
                ValueType::List { .. }
                | ValueType::NumberOrChoice { .. }
                | ValueType::Text { .. } => {
                    unreachable!("lists, text and number-or-name fields are built below")
                }
            };
            base.description(Some(help))
                .default(field.default.map(|d| json!(d)))
                .extensions(Some(extensions.build()))
                .into()
        }
        ValueType::Text { max_len, chars } => ObjectBuilder::new()
            .schema_type(Type::String)
            .min_length(Some(1))
            .max_length(Some(max_len))
            .pattern(Some(format!("^[{chars}]+$")))
            .description(Some(help))
            .extensions(Some(extensions.build()))
            .into(),
        ValueType::NumberOrChoice { names, value } => {
            // What each name stands for, so a form can show it.
            let values: serde_json::Map<String, Value> =
                names.iter().map(|&n| (n.to_owned(), json!(value(n)))).collect();
            OneOfBuilder::new()
                .item(scalar(Type::Number))
                .item(
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .enum_values(Some(names.iter().copied())),
                )
                .description(Some(help))
                .extensions(Some(extensions.add("x-values", Value::Object(values)).build()))
                .into()
        }
        ValueType::List { len, integer } => {
            let item = scalar(if integer { Type::Integer } else { Type::Number });
            let item = if integer { item.minimum(Some(0.0)) } else { item };
            ArrayBuilder::new()
                .items(item)
                .min_items(Some(len))
                .max_items(Some(len))
                .description(Some(help))
                .extensions(Some(extensions.build()))
                .into()
        }
    };
    schema
}

impl utoipa::PartialSchema for JobRequest {
    fn schema() -> RefOr<Schema> {
        let mut object = ObjectBuilder::new()
            .schema_type(Type::Object)
            .description(Some(
                "A conversion's options, as `lithos convert` names them (`max_grid` is \
                 `--max-grid`); each applies to the modes in its `x-modes`.",
            ))
            .additional_properties(Some(AdditionalProperties::FreeForm(false)));
        for field in FIELDS {
            object = object.property(field.name, property(field));
        }
        object.into()
    }
}

impl utoipa::ToSchema for JobRequest {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("JobRequest")
    }
}

impl utoipa::PartialSchema for JobMode {
    fn schema() -> RefOr<Schema> {
        let summaries: serde_json::Map<String, Value> =
            JobMode::ALL.iter().map(|m| (m.name().to_owned(), json!(m.summary()))).collect();
        let inputs: serde_json::Map<String, Value> =
            JobMode::ALL.iter().map(|m| (m.name().to_owned(), json!(m.input().name()))).collect();
        // The modes whose model an AI generation provider makes: priced at the provider's
        // price, with no live preview.
        let generated: Vec<&str> =
            JobMode::ALL.iter().filter(|m| m.is_generated()).map(|m| m.name()).collect();
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(JobMode::NAMES.iter().copied()))
            .description(Some("What a job makes."))
            .extensions(Some(
                ExtensionsBuilder::new()
                    .add("x-summaries", summaries)
                    .add("x-input", inputs)
                    .add("x-generated", generated)
                    .build(),
            ))
            .into()
    }
}

impl utoipa::ToSchema for JobMode {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("JobMode")
    }
}

impl utoipa::PartialSchema for MeshFormat {
    fn schema() -> RefOr<Schema> {
        let by_name = |f: fn(MeshFormat) -> &'static str| -> serde_json::Map<String, Value> {
            MeshFormat::ALL.iter().map(|&m| (m.name().to_owned(), json!(f(m)))).collect()
        };
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(MeshFormat::ALL.iter().map(|f| f.name())))
            .description(Some("The file a job writes. Every mode writes every format."))
            .extensions(Some(
                ExtensionsBuilder::new()
                    .add("x-labels", by_name(MeshFormat::label))
                    .add("x-summaries", by_name(MeshFormat::summary))
                    .build(),
            ))
            .into()
    }
}

impl utoipa::ToSchema for MeshFormat {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("MeshFormat")
    }
}
