//! `#[contract]`: an `impl` block's `#[transaction]`, `#[before]`,
//! `#[after]` and `#[unknown]` methods become an implementation of
//! `ccaas_contract::Contract`.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{
    FnArg, GenericArgument, ImplItem, ImplItemFn, ItemImpl, LitStr, Meta, Pat, PathArguments,
    ReturnType, Type,
};

#[derive(Default)]
struct ContractArgs {
    name: Option<LitStr>,
    title: Option<LitStr>,
    version: Option<LitStr>,
    description: Option<LitStr>,
}

#[derive(Clone, Copy, PartialEq)]
enum Role {
    Transaction { evaluate: bool },
    Before,
    After,
    Unknown,
}

struct Method {
    ident: syn::Ident,
    role: Role,
    /// The transaction name (`CreateAsset`).
    name: String,
    takes_context: bool,
    /// Typed parameters: name and type.
    params: Vec<(String, Type)>,
    returns: Option<Type>,
    span: Span,
}

/// [`expand`], or its error beside the `impl` block as written (without
/// the role attributes): the methods still exist, so the error is the only
/// one (no "unused import" of what they use, no "no method" where they are
/// called).
pub fn expand_or_error(attr: TokenStream, item: TokenStream) -> TokenStream {
    match expand(attr, item.clone()) {
        Ok(tokens) => tokens,
        Err(error) => {
            let error = error.into_compile_error();
            match syn::parse2::<ItemImpl>(item) {
                Ok(mut block) => {
                    for item in &mut block.items {
                        if let ImplItem::Fn(function) = item {
                            function.attrs.retain(|a| {
                                !["transaction", "before", "after", "unknown"]
                                    .iter()
                                    .any(|role| a.path().is_ident(role))
                            });
                        }
                    }
                    quote!(#block #error)
                }
                Err(_) => error,
            }
        }
    }
}

pub fn expand(attr: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let mut args = ContractArgs::default();
    let parser = syn::meta::parser(|meta| {
        let slot = if meta.path.is_ident("name") {
            &mut args.name
        } else if meta.path.is_ident("title") {
            &mut args.title
        } else if meta.path.is_ident("version") {
            &mut args.version
        } else if meta.path.is_ident("description") {
            &mut args.description
        } else {
            return Err(meta.error(
                "unknown #[contract] argument: expected `name`, `title`, `version` or `description`",
            ));
        };
        *slot = Some(meta.value()?.parse()?);
        Ok(())
    });
    syn::parse::Parser::parse2(parser, attr)?;

    let mut block: ItemImpl = syn::parse2(item)?;
    if let Some((_, path, _)) = &block.trait_ {
        return Err(syn::Error::new(
            path.span(),
            "#[contract] goes on an inherent `impl Type { ... }` block, not a trait impl",
        ));
    }
    if !block.generics.params.is_empty() {
        return Err(syn::Error::new(
            block.generics.span(),
            "#[contract] does not support generic contracts",
        ));
    }

    let mut methods = Vec::new();
    for item in &mut block.items {
        if let ImplItem::Fn(function) = item {
            if let Some(method) = take_method(function)? {
                methods.push(method);
            }
        }
    }

    let self_ty = &block.self_ty;
    let type_name = match &**self_ty {
        Type::Path(p) => p
            .path
            .segments
            .last()
            .map(|s| s.ident.to_string())
            .unwrap_or_default(),
        other => {
            return Err(syn::Error::new(
                other.span(),
                "#[contract] needs a named type (`impl MyContract { ... }`)",
            ))
        }
    };
    let contract_name = args.name.as_ref().map(LitStr::value).unwrap_or(type_name);

    let transactions: Vec<&Method> = methods
        .iter()
        .filter(|m| matches!(m.role, Role::Transaction { .. }))
        .collect();
    if transactions.is_empty() {
        return Err(syn::Error::new(
            Span::call_site(),
            "a contract needs at least one #[transaction] method",
        ));
    }
    for (i, a) in transactions.iter().enumerate() {
        if let Some(b) = transactions[..i].iter().find(|b| b.name == a.name) {
            return Err(syn::Error::new(
                a.span,
                format!(
                    "two transactions are named `{}` (`{}` and `{}`)",
                    a.name, b.ident, a.ident
                ),
            ));
        }
    }
    for role in [Role::Before, Role::After, Role::Unknown] {
        let mut of_role = methods.iter().filter(|m| m.role == role);
        if let (Some(_), Some(second)) = (of_role.next(), of_role.next()) {
            return Err(syn::Error::new(
                second.span,
                "a contract has at most one #[before], one #[after] and one #[unknown] method",
            ));
        }
    }

    let private = quote!(::ccaas_contract::__private);
    let opt_lit = |lit: &Option<LitStr>| match lit {
        Some(l) => quote!(::core::option::Option::Some(::std::string::String::from(#l))),
        None => quote!(::core::option::Option::None),
    };
    let title = opt_lit(&args.title);
    let version = opt_lit(&args.version);
    let description = opt_lit(&args.description);

    let metadata = transactions.iter().map(|m| {
        let name = &m.name;
        let evaluate = matches!(m.role, Role::Transaction { evaluate: true });
        // Each type is named as `<T as ContractValue>::method`, spanned at
        // the type: one error for a type that is not a contract value
        // (see private.rs).
        let params = m.params.iter().map(|(pname, ty)| {
            let schema = quote_spanned!(ty.span()=> <#ty as #private::ContractValue>::schema);
            quote!(#private::parameter(#pname, #schema(components, false)))
        });
        let returns = match &m.returns {
            Some(ty) => {
                let (value, _) = result_value(ty);
                let schema =
                    quote_spanned!(value.span()=> <#value as #private::ContractValue>::schema);
                quote!(#schema(components, false))
            }
            None => quote!(::core::option::Option::None),
        };
        quote! {
            #private::transaction(#name, #evaluate, ::std::vec![#(#params),*], #returns)
        }
    });

    let arms = transactions.iter().map(|m| {
        let name = &m.name;
        let ident = &m.ident;
        let count = m.params.len();
        let bindings: Vec<syn::Ident> = (0..count)
            .map(|i| syn::Ident::new(&format!("__arg{i}"), Span::call_site()))
            .collect();
        let conversions = m.params.iter().enumerate().map(|(i, (pname, ty))| {
            let binding = &bindings[i];
            let parse =
                quote_spanned!(ty.span()=> <#ty as #private::ContractValue>::from_arg_bytes);
            quote!(let #binding = #private::arg(args, #i, #pname, #parse)?;)
        });
        let ctx_arg = m.takes_context.then(|| quote!(ctx,));
        let call = quote!(self.#ident(#ctx_arg #(#bindings),*).await);
        let outcome = match &m.returns {
            Some(ty) => {
                let (value, is_result) = result_value(ty);
                let to_payload =
                    quote_spanned!(value.span()=> <#value as #private::ContractValue>::to_payload);
                let helper = if is_result {
                    quote!(#private::result_outcome)
                } else {
                    quote!(#private::value_outcome)
                };
                // At the return type: an error type that is not `Display` is
                // reported there.
                quote_spanned!(ty.span()=> #helper(#call, #to_payload))
            }
            None => {
                quote!(#private::value_outcome(#call, <() as #private::ContractValue>::to_payload))
            }
        };
        quote! {
            #name => ::core::option::Option::Some(::std::boxed::Box::pin(async move {
                #private::check_count(args, #count)?;
                #(#conversions)*
                #outcome
            })),
        }
    });

    let hook = |role: Role| methods.iter().find(|m| m.role == role);
    let before = hook(Role::Before).map(|m| {
        let ident = &m.ident;
        let ctx_arg = m.takes_context.then(|| quote!(ctx));
        quote! {
            fn before<'a>(&'a self, ctx: &'a ::ccaas_contract::Context<'_>)
                -> ::core::option::Option<#private::BoxFuture<'a, ::core::result::Result<(), ::std::string::String>>>
            {
                ::core::option::Option::Some(::std::boxed::Box::pin(async move {
                    #private::hook(self.#ident(#ctx_arg).await)
                }))
            }
        }
    });
    let after = hook(Role::After).map(|m| {
        let ident = &m.ident;
        let mut call_args = Vec::new();
        if m.takes_context {
            call_args.push(quote!(ctx));
        }
        if !m.params.is_empty() {
            call_args.push(quote!(result));
        }
        quote! {
            fn after<'a>(&'a self, ctx: &'a ::ccaas_contract::Context<'_>, result: &'a ::ccaas_contract::Returned)
                -> ::core::option::Option<#private::BoxFuture<'a, ::core::result::Result<(), ::std::string::String>>>
            {
                let _ = result;
                ::core::option::Option::Some(::std::boxed::Box::pin(async move {
                    #private::hook(self.#ident(#(#call_args),*).await)
                }))
            }
        }
    });
    let unknown = hook(Role::Unknown).map(|m| {
        let ident = &m.ident;
        let ctx_arg = m.takes_context.then(|| quote!(ctx));
        quote! {
            fn unknown<'a>(&'a self, ctx: &'a ::ccaas_contract::Context<'_>)
                -> ::core::option::Option<#private::BoxFuture<'a, ::core::result::Result<::ccaas_contract::Returned, ::std::string::String>>>
            {
                ::core::option::Option::Some(::std::boxed::Box::pin(async move {
                    #private::outcome(self.#ident(#ctx_arg).await)
                }))
            }
        }
    });

    Ok(quote! {
        #block

        impl ::ccaas_contract::Contract for #self_ty {
            fn name(&self) -> ::std::string::String {
                ::std::string::String::from(#contract_name)
            }

            fn info(&self) -> ::ccaas_contract::metadata::Info {
                #private::info(#title, #version, #description)
            }

            fn transactions(&self, components: &mut ::ccaas_contract::metadata::Components)
                -> ::std::vec::Vec<::ccaas_contract::metadata::Transaction>
            {
                ::std::vec![#(#metadata),*]
            }

            fn call<'a>(
                &'a self,
                ctx: &'a ::ccaas_contract::Context<'_>,
                function: &'a str,
                args: &'a [::std::vec::Vec<u8>],
            ) -> ::core::option::Option<#private::BoxFuture<'a, ::core::result::Result<::ccaas_contract::Returned, ::std::string::String>>>
            {
                let _ = (ctx, args);
                match function {
                    #(#arms)*
                    _ => ::core::option::Option::None,
                }
            }

            #before
            #after
            #unknown
        }
    })
}

/// Reads and removes the method's role attribute; `None` for a plain method.
fn take_method(function: &mut ImplItemFn) -> syn::Result<Option<Method>> {
    let mut role = None;
    let mut name = None;
    let mut found = None;
    for (index, attr) in function.attrs.iter().enumerate() {
        let this = if attr.path().is_ident("transaction") {
            let mut evaluate = false;
            if !matches!(attr.meta, Meta::Path(_)) {
                attr.parse_nested_meta(|meta| {
                    if meta.path.is_ident("evaluate") {
                        evaluate = true;
                    } else if meta.path.is_ident("submit") {
                        evaluate = false;
                    } else if meta.path.is_ident("name") {
                        let lit: LitStr = meta.value()?.parse()?;
                        name = Some(lit);
                    } else {
                        return Err(meta.error(
                            "unknown #[transaction] argument: expected `submit`, `evaluate` or `name = \"...\"`",
                        ));
                    }
                    Ok(())
                })?;
            }
            Role::Transaction { evaluate }
        } else if attr.path().is_ident("before") {
            Role::Before
        } else if attr.path().is_ident("after") {
            Role::After
        } else if attr.path().is_ident("unknown") {
            Role::Unknown
        } else {
            continue;
        };
        if role.is_some() {
            return Err(syn::Error::new(
                attr.span(),
                "a method has one role: #[transaction], #[before], #[after] or #[unknown]",
            ));
        }
        role = Some(this);
        found = Some(index);
    }
    let (Some(role), Some(index)) = (role, found) else {
        return Ok(None);
    };
    function.attrs.remove(index);

    let sig = &function.sig;
    let span = sig.ident.span();
    if sig.asyncness.is_none() {
        return Err(syn::Error::new(
            sig.fn_token.span(),
            "contract methods are `async fn`",
        ));
    }
    if !sig.generics.params.is_empty() {
        return Err(syn::Error::new(
            sig.generics.span(),
            "contract methods cannot be generic",
        ));
    }
    let mut inputs = sig.inputs.iter();
    match inputs.next() {
        Some(FnArg::Receiver(r)) if r.reference.is_some() && r.mutability.is_none() => {}
        _ => {
            return Err(syn::Error::new(
                span,
                "contract methods take `&self` first (transactions run concurrently)",
            ))
        }
    }
    let mut takes_context = false;
    let mut params = Vec::new();
    for (position, input) in inputs.enumerate() {
        let FnArg::Typed(typed) = input else {
            continue;
        };
        if let Some(fix) = misused_context(&typed.ty) {
            return Err(syn::Error::new(typed.ty.span(), fix));
        }
        if is_context(&typed.ty) {
            if position != 0 {
                return Err(syn::Error::new(
                    typed.ty.span(),
                    "the context must be the first parameter after `&self`",
                ));
            }
            takes_context = true;
            continue;
        }
        let pname = match &*typed.pat {
            Pat::Ident(p) => p.ident.to_string(),
            other => {
                return Err(syn::Error::new(
                    other.span(),
                    "contract parameters are plain names (`id: String`)",
                ))
            }
        };
        let pname = pname.strip_prefix("r#").unwrap_or(&pname).to_owned();
        if matches!(role, Role::Transaction { .. }) && matches!(*typed.ty, Type::Reference(_)) {
            return Err(syn::Error::new(
                typed.ty.span(),
                "transaction parameters are owned values parsed from the arguments (`String`, not `&str`)",
            ));
        }
        params.push((pname, (*typed.ty).clone()));
    }
    match role {
        Role::Before | Role::Unknown if !params.is_empty() => {
            return Err(syn::Error::new(
                span,
                "#[before] and #[unknown] methods take only the context (as contract-api-go)",
            ));
        }
        Role::After if params.len() > 1 => {
            return Err(syn::Error::new(
                span,
                "#[after] methods take the context and at most the result (`result: &Returned`)",
            ));
        }
        _ => {}
    }
    let returns = match &sig.output {
        ReturnType::Default => None,
        ReturnType::Type(_, ty) => Some((**ty).clone()),
    };
    let ident = sig.ident.clone();
    let name = match name {
        Some(lit) => lit.value(),
        None => pascal_case(&ident.to_string()),
    };
    if matches!(role, Role::Transaction { .. }) {
        match name.chars().next() {
            Some(first) if first.is_uppercase() => {}
            _ => {
                return Err(syn::Error::new(
                    span,
                    format!(
                        "transaction name `{name}` must start with an upper-case letter: callers reach \
                         a transaction by its name or by its name with the first letter in lower case, \
                         as Go's exported methods"
                    ),
                ))
            }
        }
        if name.contains(':') {
            return Err(syn::Error::new(
                span,
                "a transaction name cannot contain `:` (it separates the contract's name)",
            ));
        }
    }
    Ok(Some(Method {
        ident,
        role,
        name,
        takes_context,
        params,
        returns,
        span,
    }))
}

/// A context taken otherwise than by shared reference (by value, `&mut`):
/// the error that says how to take it. The contract owns the context and
/// lends it to each method, as contract-api-go passes a
/// `TransactionContextInterface`.
fn misused_context(ty: &Type) -> Option<&'static str> {
    let named_context = |ty: &Type| match ty {
        Type::Path(path) => path
            .path
            .segments
            .last()
            .is_some_and(|s| s.ident == "Context"),
        _ => false,
    };
    match ty {
        Type::Reference(reference) if reference.mutability.is_some() && named_context(&reference.elem) => Some(
            "the context is shared by reference: take `ctx: &Context<'_>`, not `&mut Context` \
             (keep per-transaction values with `ctx.insert(v)` and `ctx.get::<T>()`)",
        ),
        ty if named_context(ty) => Some(
            "the context is lent to the method: take `ctx: &Context<'_>`, not `Context<'_>` by value",
        ),
        _ => None,
    }
}

/// `&Context`, `&Context<'_>`, `&ccaas_contract::Context<'a>`.
fn is_context(ty: &Type) -> bool {
    let Type::Reference(reference) = ty else {
        return false;
    };
    let Type::Path(path) = &*reference.elem else {
        return false;
    };
    path.path
        .segments
        .last()
        .is_some_and(|s| s.ident == "Context")
}

/// A transaction's value type and whether its return type is a `Result`:
/// `Result<Asset, Error>` → (`Asset`, true); `io::Result<u64>` → (`u64`,
/// true); `String` → (`String`, false).
fn result_value(ty: &Type) -> (Type, bool) {
    if let Type::Path(path) = ty {
        if let Some(last) = path.path.segments.last().filter(|_| path.qself.is_none()) {
            if last.ident == "Result" {
                if let PathArguments::AngleBracketed(args) = &last.arguments {
                    if let Some(GenericArgument::Type(value)) = args.args.first() {
                        return (value.clone(), true);
                    }
                }
            }
        }
    }
    (ty.clone(), false)
}

/// `create_asset` → `CreateAsset`; `r#type` → `Type`.
fn pascal_case(ident: &str) -> String {
    let ident = ident.strip_prefix("r#").unwrap_or(ident);
    let mut out = String::with_capacity(ident.len());
    for part in ident.split('_').filter(|p| !p.is_empty()) {
        let mut chars = part.chars();
        if let Some(first) = chars.next() {
            out.extend(first.to_uppercase());
            out.push_str(chars.as_str());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{expand, pascal_case};
    use quote::quote;

    /// The compile error `#[contract]` gives for `item`.
    fn refused(attr: proc_macro2::TokenStream, item: proc_macro2::TokenStream) -> String {
        match expand(attr, item) {
            Ok(_) => panic!("accepted"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn what_contract_api_go_could_not_call_is_refused_at_compile_time() {
        let cases = [
            (
                quote!(impl C { #[transaction(name = "lower")] async fn a(&self) {} }),
                "transaction name `lower` must start with an upper-case letter",
            ),
            (
                quote!(impl C { #[transaction(name = "A:B")] async fn a(&self) {} }),
                "a transaction name cannot contain `:`",
            ),
            (
                quote!(impl C { #[transaction] fn a(&self) {} }),
                "contract methods are `async fn`",
            ),
            (
                quote!(impl C { #[transaction] async fn a(&mut self) {} }),
                "contract methods take `&self` first",
            ),
            (
                quote!(impl C { #[transaction] async fn a() {} }),
                "contract methods take `&self` first",
            ),
            (
                quote!(impl C { #[transaction] async fn a(&self, s: &str) {} }),
                "transaction parameters are owned values",
            ),
            (
                quote!(impl C { #[transaction] async fn a(&self, x: i64, ctx: &Context<'_>) {} }),
                "the context must be the first parameter after `&self`",
            ),
            (
                quote!(impl C { #[transaction] async fn a(&self) {} #[transaction(name = "A")] async fn b(&self) {} }),
                "two transactions are named `A`",
            ),
            (
                quote!(impl C { fn helper(&self) {} }),
                "a contract needs at least one #[transaction] method",
            ),
            (
                quote!(impl C { #[transaction] async fn t(&self) {} #[before] async fn a(&self) {} #[before] async fn b(&self) {} }),
                "at most one #[before]",
            ),
            (
                quote!(impl C { #[transaction] async fn t(&self) {} #[before] async fn a(&self, x: i64) {} }),
                "#[before] and #[unknown] methods take only the context",
            ),
            (
                quote!(impl C { #[transaction] async fn t(&self) {} #[after] async fn a(&self, x: i64, y: i64) {} }),
                "#[after] methods take the context and at most the result",
            ),
            (
                quote!(impl C { #[transaction(query)] async fn t(&self) {} }),
                "unknown #[transaction] argument",
            ),
            (
                quote!(impl C { #[transaction] #[before] async fn t(&self) {} }),
                "a method has one role",
            ),
            (
                quote!(impl Trait for C { #[transaction] async fn t(&self) {} }),
                "not a trait impl",
            ),
            (
                quote!(impl C { #[transaction] async fn t(&self, ctx: Context<'_>) {} }),
                "take `ctx: &Context<'_>`, not `Context<'_>` by value",
            ),
            (
                quote!(impl C { #[before] async fn t(&self, ctx: ccaas_contract::Context) {} }),
                "take `ctx: &Context<'_>`, not `Context<'_>` by value",
            ),
            (
                quote!(impl C { #[transaction] async fn t(&self, ctx: &mut Context<'_>) {} }),
                "take `ctx: &Context<'_>`, not `&mut Context`",
            ),
        ];
        for (item, expected) in cases {
            let message = refused(quote!(), item.clone());
            assert!(message.contains(expected), "{item}: {message}");
        }
        assert!(refused(
            quote!(label = "x"),
            quote!(impl C { #[transaction] async fn t(&self) {} })
        )
        .contains("unknown #[contract] argument"));
    }

    #[test]
    fn a_contract_keeps_its_methods_and_drops_the_role_attributes() {
        let out = expand(
            quote!(name = "Named"),
            quote!(impl C {
                #[transaction(evaluate)]
                async fn read_it(&self, ctx: &Context<'_>, id: String) -> Result<String, E> { Ok(id) }
                fn helper(&self) {}
            }),
        )
        .map(|t| t.to_string())
        .unwrap_or_default();
        assert!(out.contains("async fn read_it"), "{out}");
        assert!(out.contains("fn helper"), "{out}");
        assert!(!out.contains("# [transaction"), "{out}");
        assert!(out.contains("\"ReadIt\""), "{out}");
        assert!(out.contains("\"Named\""), "{out}");
    }

    #[test]
    fn method_names_become_go_method_names() {
        assert_eq!(pascal_case("create_asset"), "CreateAsset");
        assert_eq!(pascal_case("get_all_assets"), "GetAllAssets");
        assert_eq!(pascal_case("read_asset_v2"), "ReadAssetV2");
        assert_eq!(pascal_case("r#type"), "Type");
        assert_eq!(pascal_case("_private_ish"), "PrivateIsh");
        assert_eq!(pascal_case("ping"), "Ping");
    }
}
