//! [`TextLines`]: the words a text job makes, as the `text` option takes them.

use crate::ParamError;

/// One or more lines of text, kept inline so that job options stay `Copy`: at most
/// [`TextLines::MAX_CHARS`] characters in at most [`TextLines::MAX_LINES`] lines, with no
/// control characters but the line break (`\r\n` is read as one).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TextLines {
    len: u16,
    bytes: [u8; TextLines::MAX_BYTES],
}

impl TextLines {
    /// A sign's or a keychain's worth, and more.
    pub const MAX_CHARS: usize = 200;
    pub const MAX_LINES: usize = 8;
    const MAX_BYTES: usize = 4 * Self::MAX_CHARS;
    /// What the schema's pattern allows: anything but control characters, line breaks aside.
    pub const PATTERN_CHARS: &'static str = "^\\u0000-\\u0009\\u000b-\\u001f\\u007f";

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).expect("checked UTF-8")
    }

    /// The lines, top to bottom.
    pub fn lines(&self) -> impl Iterator<Item = &str> {
        self.as_str().split('\n')
    }
}

impl std::str::FromStr for TextLines {
    type Err = ParamError;
    fn from_str(s: &str) -> Result<Self, ParamError> {
        let text = s.replace("\r\n", "\n");
        let text = text.trim_end_matches('\n');
        let fail = |why: String| Err(ParamError::new("text", why));
        if text.trim().is_empty() {
            return fail("must have at least one character that is not a space".into());
        }
        let chars = text.chars().count();
        if chars > Self::MAX_CHARS {
            return fail(format!("has {chars} characters; at most {} fit", Self::MAX_CHARS));
        }
        let lines = text.split('\n').count();
        if lines > Self::MAX_LINES {
            return fail(format!("has {lines} lines; at most {} fit", Self::MAX_LINES));
        }
        if let Some(c) = text.chars().find(|&c| c != '\n' && c.is_control()) {
            return fail(format!(
                "holds the control character U+{:04X}; use letters, digits, punctuation, spaces \
                 and line breaks",
                u32::from(c)
            ));
        }
        let mut bytes = [0; Self::MAX_BYTES];
        bytes[..text.len()].copy_from_slice(text.as_bytes());
        Ok(TextLines { len: text.len() as u16, bytes })
    }
}

impl std::fmt::Display for TextLines {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Debug for TextLines {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TextLines({:?})", self.as_str())
    }
}

impl serde::Serialize for TextLines {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for TextLines {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(|e: ParamError| serde::de::Error::custom(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_lines_and_refuses_what_cannot_be_made() {
        let text: TextLines = "Hello\r\nWorld\n".parse().unwrap();
        assert_eq!(text.lines().collect::<Vec<_>>(), ["Hello", "World"]);
        assert_eq!("Ünïcødé ✓".parse::<TextLines>().unwrap().as_str(), "Ünïcødé ✓");
        assert!("   ".parse::<TextLines>().is_err());
        assert!("a\tb".parse::<TextLines>().is_err());
        assert!("x".repeat(TextLines::MAX_CHARS + 1).parse::<TextLines>().is_err());
        assert!("é".repeat(TextLines::MAX_CHARS).parse::<TextLines>().is_ok());
        assert!("a\n".repeat(TextLines::MAX_LINES + 1).trim_end().parse::<TextLines>().is_err());
    }
}
