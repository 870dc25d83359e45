//! A prompt job: the words an AI generation provider makes a model of, and how the model it
//! returns is repaired and placed. The service sends the words to its provider; the engine
//! only reads the model that comes back, as a 3D file.

use serde::{Deserialize, Serialize};

use super::MeshParams;
use crate::params::ParamError;

/// What to ask the provider for: 1 to 600 characters (Meshy's limit; Tripo takes more) on one
/// line. A prompt is the user's own words, kept only with its task: `Debug` shows its length,
/// never its text, so it cannot reach a log.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Prompt(String);

impl Prompt {
    pub const MAX_CHARS: usize = 600;
    /// What the schema's pattern allows: anything but control characters.
    pub const PATTERN_CHARS: &'static str = "^\\u0000-\\u001f\\u007f";

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::str::FromStr for Prompt {
    type Err = ParamError;
    fn from_str(s: &str) -> Result<Self, ParamError> {
        let fail = |why: String| Err(ParamError::new("prompt", why));
        let prompt = s.trim();
        if prompt.is_empty() {
            return fail(
                "is empty: describe the object to make, such as \"a cat wearing a hat\"".into(),
            );
        }
        let chars = prompt.chars().count();
        if chars > Self::MAX_CHARS {
            return fail(format!("has {chars} characters; at most {} are sent", Self::MAX_CHARS));
        }
        if let Some(c) = prompt.chars().find(|c| c.is_control()) {
            return fail(format!(
                "holds the control character U+{:04X}; write it on one line",
                u32::from(c)
            ));
        }
        Ok(Prompt(prompt.to_owned()))
    }
}

impl TryFrom<String> for Prompt {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        s.parse().map_err(|e: ParamError| e.to_string())
    }
}

impl From<Prompt> for String {
    fn from(prompt: Prompt) -> String {
        prompt.0
    }
}

impl std::fmt::Display for Prompt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::fmt::Debug for Prompt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Prompt({} characters)", self.0.chars().count())
    }
}

/// A prompt job's parameters: what to ask for, and the 3D-file options for what comes back.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PromptParams {
    pub prompt: Prompt,
    pub mesh: MeshParams,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_one_line_of_words_and_never_shows_them_in_debug() {
        let prompt: Prompt = "  a cat wearing a hat ".parse().unwrap();
        assert_eq!(prompt.as_str(), "a cat wearing a hat");
        assert_eq!(format!("{prompt:?}"), "Prompt(19 characters)");
        assert!(" ".parse::<Prompt>().is_err());
        assert!("a\ncat".parse::<Prompt>().is_err());
        assert!("x".repeat(Prompt::MAX_CHARS + 1).parse::<Prompt>().is_err());
        assert!("é".repeat(Prompt::MAX_CHARS).parse::<Prompt>().is_ok());
        let json: Prompt = serde_json::from_str("\"a hat\"").unwrap();
        assert_eq!(serde_json::to_string(&json).unwrap(), "\"a hat\"");
        assert!(serde_json::from_str::<Prompt>("\"\"").is_err());
    }
}
