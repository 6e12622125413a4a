use ccaas_contract::contract;

struct C;

#[contract]
impl C {
    #[transaction]
    async fn ping(&self) {}

    #[transaction(name = "Ping")]
    async fn other(&self) {}
}

fn main() {}
