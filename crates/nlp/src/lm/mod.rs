//! Language models.

pub mod sampling;
