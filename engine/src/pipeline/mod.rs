//! The three pipelines behind [`crate::Engine`], one module each: heightfields (reliefs and
//! lithophanes), solids from masks, and isosurfaces of volumes (with the indexed-mesh output
//! that solids share).

mod heightfield;
mod indexed;
mod outline;
mod run;
mod solid;

pub use run::Input;
