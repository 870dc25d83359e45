//! The pipelines behind [`crate::Engine`], one module each: heightfields (reliefs and
//! lithophanes), solids from masks, isosurfaces of volumes (with the indexed-mesh output that
//! solids and 3D files share), 3D files, and text.

mod heightfield;
mod indexed;
mod mesh;
mod outline;
mod run;
mod solid;
mod text;

pub use run::Input;
