//! aimc: the offline compiler for AMD Inference Microservices resources.
//!
//! Data flows one way: `load` (files → indexed objects) → `resolve` (scope resolution into a
//! plan) → `render` (plan → Kubernetes objects) → `emit` (ordering and serialisation).
//! `naming` holds the operator's byte-exact name and hash algorithms, shared by resolve
//! (auto-created model and template names) and render.

pub mod api;
pub mod check;
pub mod cli;
pub mod diag;
pub mod emit;
pub mod explain;
pub mod golden;
pub mod load;
pub mod lock;
pub mod naming;
pub mod process;
pub mod render;
pub mod resolve;
