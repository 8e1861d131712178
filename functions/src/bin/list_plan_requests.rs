//! Lambda function for the `list_plan_requests` operation (see `accounts::operations` and `accounts::dispatch`).

fn main() -> Result<(), accounts::lambda::Error> {
    accounts::lambda::run(&accounts::dispatch::LIST_PLAN_REQUESTS)
}
