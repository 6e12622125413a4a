use ccaas_contract::{contract, Context};

struct C;

#[contract]
impl C {
    #[transaction]
    async fn ping(&self, ctx: &mut Context<'_>) -> String {
        ctx.function().to_owned()
    }
}

fn main() {}
