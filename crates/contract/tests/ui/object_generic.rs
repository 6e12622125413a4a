use ccaas_contract::Object;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Object)]
struct Wrapper<T> {
    value: T,
}

fn main() {}
