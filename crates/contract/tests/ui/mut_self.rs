use ccaas_contract::contract;

struct C;

#[contract]
impl C {
    #[transaction]
    async fn ping(&mut self) {}
}

fn main() {}
