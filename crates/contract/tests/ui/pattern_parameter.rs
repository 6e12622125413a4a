use ccaas_contract::contract;

struct C;

#[contract]
impl C {
    #[transaction]
    async fn put(&self, (a, b): (String, String)) {
        let _ = (a, b);
    }
}

fn main() {}
