use ccaas_contract::contract;

struct C;

#[contract(label = "x")]
impl C {
    #[transaction]
    async fn ping(&self) {}
}

fn main() {}
