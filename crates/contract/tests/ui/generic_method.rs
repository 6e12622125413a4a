use ccaas_contract::contract;

struct C;

#[contract]
impl C {
    #[transaction]
    async fn ping<T>(&self) {}
}

fn main() {}
