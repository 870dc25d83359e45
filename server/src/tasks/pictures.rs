//! The pictures stored beside a task's output: its thumbnail, for a lithophane the view lit
//! from behind, and for a palette relief its expected colours. Each is named after the output's key, so that everything that deletes an
//! output deletes them too, through [`stored_keys`].

use serde::{Deserialize, Serialize};

/// A picture of a task's output.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Picture {
    /// The model shaded in a three-quarter view, 512 x 512 (every output has one).
    Thumbnail,
    /// A lithophane lit from behind (lithophanes only).
    Backlit,
    /// The colours a relief's filaments are expected to show (reliefs with a `palette`).
    Colours,
}

impl Picture {
    pub const ALL: [Picture; 3] = [Picture::Thumbnail, Picture::Backlit, Picture::Colours];

    pub fn name(self) -> &'static str {
        match self {
            Picture::Thumbnail => "thumbnail",
            Picture::Backlit => "backlit",
            Picture::Colours => "colours",
        }
    }

    /// Where the picture of the output at `output_key` is stored.
    pub fn key(self, output_key: &str) -> String {
        format!("{output_key}.{}.png", self.name())
    }
}

/// Every object a task that stored its output at `output_key` may have: the output and its
/// pictures.
pub fn stored_keys(output_key: &str) -> Vec<String> {
    std::iter::once(output_key.to_owned())
        .chain(Picture::ALL.iter().map(|p| p.key(output_key)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pictures_are_named_after_the_output() {
        let keys = stored_keys("users/u/outputs/t-1.stl");
        assert_eq!(
            keys,
            [
                "users/u/outputs/t-1.stl",
                "users/u/outputs/t-1.stl.thumbnail.png",
                "users/u/outputs/t-1.stl.backlit.png",
                "users/u/outputs/t-1.stl.colours.png"
            ]
        );
        for picture in Picture::ALL {
            let json = serde_json::to_value(picture).unwrap();
            assert_eq!(json, picture.name());
        }
    }
}
