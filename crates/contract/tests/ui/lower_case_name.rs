use ccaas_contract::contract;

struct C;

#[contract]
impl C {
    #[transaction(name = "ping")]
    async fn ping(&self) {}
}

fn main() {}
