use ccaas_contract::Object;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Object)]
struct Pair(String, String);

fn main() {}
