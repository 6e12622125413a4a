use ccaas_contract::contract;

struct C;
trait Ping {
    fn ping(&self);
}

#[contract]
impl Ping for C {
    fn ping(&self) {}
}

fn main() {}
