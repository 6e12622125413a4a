use ccaas_contract::contract;

struct C;

#[contract]
impl C {
    #[transaction]
    fn ping(&self) {}
}

fn main() {}
