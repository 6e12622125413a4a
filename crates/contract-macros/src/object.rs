//! `#[derive(Object)]`: a structure with named fields as a contract value
//! (JSON through serde), with its schema as a metadata component. The
//! property names follow the structure's serde attributes (`rename`,
//! `rename_all`, `skip`), so the schema describes the JSON serde writes.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Attribute, Data, DeriveInput, Fields, LitStr, Type};

#[derive(Default)]
struct SerdeAttrs {
    rename: Option<String>,
    rename_all: Option<String>,
    skip: bool,
    default: bool,
    skip_serializing_if: bool,
}

fn serde_attrs(attrs: &[Attribute]) -> syn::Result<SerdeAttrs> {
    let mut out = SerdeAttrs::default();
    for attr in attrs.iter().filter(|a| a.path().is_ident("serde")) {
        attr.parse_nested_meta(|meta| {
            let key = meta
                .path
                .get_ident()
                .map(ToString::to_string)
                .unwrap_or_default();
            match key.as_str() {
                "rename" => {
                    // `rename = "x"` or `rename(serialize = "x", ...)`
                    if meta.input.peek(syn::Token![=]) {
                        out.rename = Some(meta.value()?.parse::<LitStr>()?.value());
                    } else {
                        meta.parse_nested_meta(|inner| {
                            let lit: LitStr = inner.value()?.parse()?;
                            if inner.path.is_ident("serialize") {
                                out.rename = Some(lit.value());
                            }
                            Ok(())
                        })?;
                    }
                }
                "rename_all" => {
                    if meta.input.peek(syn::Token![=]) {
                        out.rename_all = Some(meta.value()?.parse::<LitStr>()?.value());
                    } else {
                        meta.parse_nested_meta(|inner| {
                            let lit: LitStr = inner.value()?.parse()?;
                            if inner.path.is_ident("serialize") {
                                out.rename_all = Some(lit.value());
                            }
                            Ok(())
                        })?;
                    }
                }
                "skip" | "skip_serializing" => out.skip = true,
                "default" => {
                    out.default = true;
                    if meta.input.peek(syn::Token![=]) {
                        let _: LitStr = meta.value()?.parse()?;
                    }
                }
                "skip_serializing_if" => {
                    out.skip_serializing_if = true;
                    let _: LitStr = meta.value()?.parse()?;
                }
                _ => {
                    // Anything else serde knows: skip its value, if any.
                    if meta.input.peek(syn::Token![=]) {
                        let _: syn::Expr = meta.value()?.parse()?;
                    } else if meta.input.peek(syn::token::Paren) {
                        let _content;
                        syn::parenthesized!(_content in meta.input);
                        let _: TokenStream = _content.parse()?;
                    }
                }
            }
            Ok(())
        })?;
    }
    Ok(out)
}

/// serde's `rename_all` rules, for a field name in snake_case.
fn apply_rename_all(rule: &str, field: &str) -> Option<String> {
    let pascal = || {
        let mut out = String::new();
        let mut upper = true;
        for c in field.chars() {
            if c == '_' {
                upper = true;
            } else if upper {
                out.extend(c.to_uppercase());
                upper = false;
            } else {
                out.push(c);
            }
        }
        out
    };
    Some(match rule {
        "lowercase" | "snake_case" => field.to_owned(),
        "UPPERCASE" | "SCREAMING_SNAKE_CASE" => field.to_ascii_uppercase(),
        "PascalCase" => pascal(),
        "camelCase" => {
            let p = pascal();
            let mut chars = p.chars();
            match chars.next() {
                Some(first) => first.to_lowercase().chain(chars).collect(),
                None => p,
            }
        }
        "kebab-case" => field.replace('_', "-"),
        "SCREAMING-KEBAB-CASE" => field.to_ascii_uppercase().replace('_', "-"),
        _ => return None,
    })
}

fn is_option(ty: &Type) -> bool {
    match ty {
        Type::Path(p) => p.path.segments.last().is_some_and(|s| s.ident == "Option"),
        _ => false,
    }
}

pub fn expand(item: TokenStream) -> syn::Result<TokenStream> {
    let input: DeriveInput = syn::parse2(item)?;
    let ident = &input.ident;
    if !input.generics.params.is_empty() {
        return Err(syn::Error::new(
            input.generics.span(),
            "#[derive(Object)] does not support generic structures",
        ));
    }
    let Data::Struct(data) = &input.data else {
        return Err(syn::Error::new(
            input.span(),
            "#[derive(Object)] is for structures with named fields (a JSON object)",
        ));
    };
    let Fields::Named(fields) = &data.fields else {
        return Err(syn::Error::new(
            data.fields.span(),
            "#[derive(Object)] is for structures with named fields (a JSON object)",
        ));
    };
    let container = serde_attrs(&input.attrs)?;
    let mut properties = Vec::new();
    for field in &fields.named {
        let attrs = serde_attrs(&field.attrs)?;
        if attrs.skip {
            continue;
        }
        let Some(field_ident) = &field.ident else {
            continue;
        };
        let raw = field_ident.to_string();
        let raw = raw.strip_prefix("r#").unwrap_or(&raw).to_owned();
        let name = match (&attrs.rename, &container.rename_all) {
            (Some(name), _) => name.clone(),
            // A rule serde does not know is serde's error, at the rule (the
            // structure derives Serialize): a second one here would repeat it.
            (None, Some(rule)) => apply_rename_all(rule, &raw).unwrap_or(raw),
            (None, None) => raw,
        };
        let required = !(attrs.default
            || container.default
            || attrs.skip_serializing_if
            || is_option(&field.ty));
        let ty = &field.ty;
        properties.push(quote_spanned! {ty.span()=>
            (#name, #required, <#ty as ::ccaas_contract::ContractValue>::schema(components, true))
        });
    }
    let type_name = ident.to_string();
    Ok(quote! {
        impl ::ccaas_contract::ContractValue for #ident {
            fn type_name() -> ::std::string::String {
                ::std::string::String::from(#type_name)
            }

            fn from_arg(arg: &str) -> ::core::result::Result<Self, ::ccaas_contract::ArgError> {
                ::ccaas_contract::__private::object_from_arg::<Self>(arg)
            }

            fn to_payload(&self) -> ::std::vec::Vec<u8> {
                ::ccaas_contract::json::to_vec(self)
            }

            fn schema(
                components: &mut ::ccaas_contract::metadata::Components,
                nested: bool,
            ) -> ::core::option::Option<::ccaas_contract::__private::Value> {
                ::ccaas_contract::__private::object_schema(components, nested, #type_name, |components| {
                    ::std::vec![#(#properties),*]
                })
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::{apply_rename_all, expand};
    use quote::quote;

    #[test]
    fn only_structures_with_named_fields_are_objects() {
        for item in [
            quote!(
                enum E {
                    A,
                    B,
                }
            ),
            quote!(
                struct T(String);
            ),
            quote!(
                struct G<T> {
                    t: T,
                }
            ),
        ] {
            assert!(expand(item.clone()).is_err(), "{item}");
        }
        let out = expand(quote!(
            #[serde(rename_all = "camelCase")]
            struct S {
                display_name: String,
                #[serde(rename = "ID")]
                id: String,
                #[serde(skip)]
                hidden: bool,
                note: Option<String>,
            }
        ))
        .map(|t| t.to_string())
        .unwrap_or_default();
        assert!(out.contains("(\"displayName\" , true ,"), "{out}");
        assert!(out.contains("(\"ID\" , true ,"), "{out}");
        assert!(out.contains("(\"note\" , false ,"), "{out}");
        assert!(!out.contains("hidden"), "{out}");
    }

    #[test]
    fn rename_all_follows_serde() {
        assert_eq!(
            apply_rename_all("PascalCase", "appraised_value").as_deref(),
            Some("AppraisedValue")
        );
        assert_eq!(
            apply_rename_all("camelCase", "appraised_value").as_deref(),
            Some("appraisedValue")
        );
        assert_eq!(
            apply_rename_all("SCREAMING_SNAKE_CASE", "a_b").as_deref(),
            Some("A_B")
        );
        assert_eq!(
            apply_rename_all("kebab-case", "a_b").as_deref(),
            Some("a-b")
        );
        assert_eq!(
            apply_rename_all("SCREAMING-KEBAB-CASE", "a_b").as_deref(),
            Some("A-B")
        );
        assert_eq!(apply_rename_all("lowercase", "a_b").as_deref(), Some("a_b"));
        assert_eq!(apply_rename_all("nonsense", "a_b"), None);
    }
}
