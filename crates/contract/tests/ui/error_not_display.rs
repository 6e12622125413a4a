use ccaas_contract::contract;

struct C;
struct Opaque;

#[contract]
impl C {
    #[transaction]
    async fn ping(&self) -> Result<String, Opaque> {
        Err(Opaque)
    }
}

fn main() {}
