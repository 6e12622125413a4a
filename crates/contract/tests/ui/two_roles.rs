use ccaas_contract::contract;

struct C;

#[contract]
impl C {
    #[transaction]
    #[before]
    async fn ping(&self) {}
}

fn main() {}
