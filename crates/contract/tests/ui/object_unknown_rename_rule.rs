use ccaas_contract::Object;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Object)]
#[serde(rename_all = "Title Case")]
struct Asset {
    id: String,
}

fn main() {}
