//! Lambda function for the `buildinfo` operation (see `accounts::operations`).

fn main() -> Result<(), accounts::lambda::Error> {
    accounts::lambda::run(&accounts::operations::BUILDINFO)
}
