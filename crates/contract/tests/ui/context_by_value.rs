use ccaas_contract::{contract, Context};

struct C;

#[contract]
impl C {
    #[transaction]
    async fn ping(&self, ctx: Context<'_>) -> String {
        ctx.function().to_owned()
    }
}

fn main() {}
