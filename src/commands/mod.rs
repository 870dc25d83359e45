//! One module per subcommand.

pub mod admin;
pub mod billing;
pub mod convert;
pub mod info;
pub mod inspect;
pub mod retention;
pub mod serve;
pub mod worker;
