use ccaas_contract::contract;

struct C;

#[contract]
impl C {
    #[transaction(name = "C:Ping")]
    async fn ping(&self) {}
}

fn main() {}
