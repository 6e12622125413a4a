use ccaas_contract::{contract, Context};

struct C;

#[contract]
impl C {
    #[transaction]
    async fn put(&self, id: String, ctx: &Context<'_>) {
        let _ = (id, ctx);
    }
}

fn main() {}
