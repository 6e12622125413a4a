use ccaas_contract::contract;

struct C;

#[contract]
impl C {
    fn helper(&self) {}
}

fn main() {}
