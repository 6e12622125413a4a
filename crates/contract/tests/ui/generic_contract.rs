use ccaas_contract::contract;

struct C<T>(T);

#[contract]
impl<T: Send + Sync + 'static> C<T> {
    #[transaction]
    async fn ping(&self) {}
}

fn main() {}
