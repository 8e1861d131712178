//! Lambda function for the background function `notify_job_finished` (see `accounts::background::BACKGROUND`).

fn main() -> Result<(), accounts::lambda::Error> {
    accounts::lambda::run_notify_job_finished()
}
