use ccaas_contract::Object;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
struct Inner {
    x: i64,
}

#[derive(Serialize, Deserialize, Object)]
struct Outer {
    inner: Inner,
}

fn main() {}
