use ccaas_contract::contract;

struct C;

#[contract]
impl C {
    #[transaction(query)]
    async fn ping(&self) {}
}

fn main() {}
