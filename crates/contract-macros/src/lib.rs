//! The macros of `ccaas-contract`: `#[contract]` on an `impl` block turns
//! its `#[transaction]` methods into a Fabric contract, and
//! `#[derive(Object)]` gives a structure its contract metadata schema.
//!
//! Use them through `ccaas-contract`, which re-exports them and documents
//! them with examples; the generated code names `::ccaas_contract` paths
//! only.

use proc_macro::TokenStream;

mod contract;
mod object;

/// Makes the `impl` block's `#[transaction]` methods a contract: see
/// `ccaas_contract::contract`.
#[proc_macro_attribute]
pub fn contract(attr: TokenStream, item: TokenStream) -> TokenStream {
    contract::expand_or_error(attr.into(), item.into()).into()
}

/// Implements `ContractValue` for a structure with named fields (a JSON
/// object, its schema a component of the metadata): see
/// `ccaas_contract::Object`.
#[proc_macro_derive(Object, attributes(serde))]
pub fn derive_object(item: TokenStream) -> TokenStream {
    object::expand(item.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}
