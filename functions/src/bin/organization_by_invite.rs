//! Lambda function for the `organization_by_invite` operation (see `accounts::operations`).

fn main() -> Result<(), accounts::lambda::Error> {
    accounts::lambda::run(&accounts::operations::ORGANIZATION_BY_INVITE)
}
