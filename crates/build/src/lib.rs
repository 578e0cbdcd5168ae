//! Building images as werf does. Today this crate holds the build report;
//! stages, digests, storage and the builders come next.

pub mod context;
pub mod conveyor;
pub mod custom_tags;
pub mod docker;
pub mod dockerfile;
pub mod gojson;
pub mod hash;
pub mod image_spec;
pub mod opstats;
pub mod platform;
pub mod report;
pub mod secrets;
pub mod storage;
