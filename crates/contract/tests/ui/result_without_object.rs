use ccaas_contract::{contract, Error};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
struct Plain {
    id: String,
}

struct C;

#[contract]
impl C {
    #[transaction(evaluate)]
    async fn read(&self, id: String) -> Result<Plain, Error> {
        Ok(Plain { id })
    }
}

fn main() {}
