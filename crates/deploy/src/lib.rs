//! `ccaas-deploy`: where a chaincode server runs. It makes an OCI image of
//! a chaincode server binary without a container daemon, and renders the
//! Kubernetes objects that run it, checked against the chaincode package
//! the peer installs, so that the two cannot disagree.
//!
//! `ccaas image` and `ccaas k8s` are thin commands over this crate; a
//! platform team's Rust tools can link it as they link `ccaas-core`. Its
//! dependencies stay out of `ccaas-core` and out of the builder binaries.
#![deny(missing_docs)]

pub mod image;
pub mod k8s;
