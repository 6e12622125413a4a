use ccaas_contract::contract;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
struct Plain {
    id: String,
}

struct C;

#[contract]
impl C {
    #[transaction]
    async fn create(&self, asset: Plain) -> String {
        asset.id
    }
}

fn main() {}
