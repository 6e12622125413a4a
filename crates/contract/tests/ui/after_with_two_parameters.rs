use ccaas_contract::contract;

struct C;

#[contract]
impl C {
    #[transaction]
    async fn ping(&self) {}

    #[after]
    async fn log(&self, x: i64, y: i64) {
        let _ = (x, y);
    }
}

fn main() {}
