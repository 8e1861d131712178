//! Lambda function for the `change_plan` operation (see `accounts::operations`).

fn main() -> Result<(), accounts::lambda::Error> {
    accounts::lambda::run(&accounts::operations::CHANGE_PLAN)
}
