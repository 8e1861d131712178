//! Lambda function for the `list_plan_updates` operation (see `accounts::operations` and `accounts::dispatch`).

fn main() -> Result<(), accounts::lambda::Error> {
    accounts::lambda::run(&accounts::dispatch::LIST_PLAN_UPDATES)
}
