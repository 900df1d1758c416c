//! aimc: the offline compiler for AMD Inference Microservices resources.
pub mod api;
pub mod diag;
pub mod load;
