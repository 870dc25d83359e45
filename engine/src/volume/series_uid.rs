//! [`SeriesUid`]: which DICOM series of an input to mesh, as the `series` option takes it.

use crate::ParamError;

/// A series' Series Instance UID: at most 64 digits and dots, kept inline so that job options
/// stay `Copy`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SeriesUid {
    len: u8,
    bytes: [u8; SeriesUid::MAX_LEN],
}

impl SeriesUid {
    /// DICOM's limit on a UID's length.
    pub const MAX_LEN: usize = 64;

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).expect("digits and dots")
    }
}

impl std::str::FromStr for SeriesUid {
    type Err = ParamError;
    fn from_str(s: &str) -> Result<Self, ParamError> {
        let s = s.trim();
        let valid = !s.is_empty()
            && s.len() <= Self::MAX_LEN
            && s.bytes().all(|b| b.is_ascii_digit() || b == b'.');
        if !valid {
            return Err(ParamError::new(
                "series",
                format!(
                    "must be a DICOM Series Instance UID: up to {} digits and dots, such as \
                     1.2.840.113619.2.55.3; got `{s}`",
                    Self::MAX_LEN
                ),
            ));
        }
        let mut bytes = [0; Self::MAX_LEN];
        bytes[..s.len()].copy_from_slice(s.as_bytes());
        Ok(SeriesUid { len: s.len() as u8, bytes })
    }
}

impl std::fmt::Display for SeriesUid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Debug for SeriesUid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SeriesUid({})", self.as_str())
    }
}

impl serde::Serialize for SeriesUid {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for SeriesUid {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(|e: ParamError| serde::de::Error::custom(e.message))
    }
}
