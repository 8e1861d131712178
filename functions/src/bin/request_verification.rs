//! Lambda function for the `request_verification` operation (see `accounts::operations`).

fn main() -> Result<(), accounts::lambda::Error> {
    accounts::lambda::run(&accounts::operations::REQUEST_VERIFICATION)
}
