use ccaas_contract::contract;

struct C;

#[contract]
impl C {
    #[transaction]
    async fn put(&self, id: &str) {
        let _ = id;
    }
}

fn main() {}
