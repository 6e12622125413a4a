use ccaas_contract::Object;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Object)]
enum Color {
    Red,
    Blue,
}

fn main() {}
