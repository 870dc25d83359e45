//! One set of names per choice: the CLI's values, the API's strings, the docs' enums and the
//! web form's options all come from [`named!`].

/// Gives a fieldless enum its names, owned once: `ALL`, `NAMES`, `name()`, `Display`, and a
/// `FromStr` whose error (a [`crate::ParamError`] on `$field`) lists what is accepted. Serde's
/// `rename_all` must spell the same names; `job::tests` checks that it does.
macro_rules! named {
    ($ty:ident, $field:literal { $($variant:ident => $name:literal),+ $(,)? }) => {
        impl $ty {
            pub const ALL: &'static [$ty] = &[$($ty::$variant),+];
            pub const NAMES: &'static [&'static str] = &[$($name),+];

            pub fn name(self) -> &'static str {
                match self {
                    $($ty::$variant => $name),+
                }
            }
        }

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.name())
            }
        }

        impl std::str::FromStr for $ty {
            type Err = crate::ParamError;

            fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
                Self::ALL.iter().copied().find(|v| v.name() == s).ok_or_else(|| {
                    crate::ParamError::new(
                        $field,
                        format!("must be one of {}, got `{s}`", Self::NAMES.join(", ")),
                    )
                })
            }
        }
    };
}

pub(crate) use named;
