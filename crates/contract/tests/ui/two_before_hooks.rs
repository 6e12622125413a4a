use ccaas_contract::contract;

struct C;

#[contract]
impl C {
    #[transaction]
    async fn ping(&self) {}

    #[before]
    async fn a(&self) {}

    #[before]
    async fn b(&self) {}
}

fn main() {}
