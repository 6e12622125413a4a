use ccaas_contract::contract;

struct C;

#[contract]
impl C {
    #[transaction]
    async fn ping(&self) {}

    #[before]
    async fn check(&self, x: i64) {
        let _ = x;
    }
}

fn main() {}
