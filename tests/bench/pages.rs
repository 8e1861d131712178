//! The pages' weight and first render.

use serde_json::json;
use tests::*;

use crate::{percentile, sorted};

pub(crate) const PAGE_LOADS: usize = 10;

/// Page weight (gzip -9 of the script and the stylesheet, as served) and the invite page's first render.
pub(crate) async fn pages() -> Vec<String> {
    let gzipped = |path: &str| -> usize {
        let output = std::process::Command::new("gzip").args(["-9c", path]).output().expect("gzip runs");
        output.stdout.len()
    };
    let root = devstack::repo_root();
    // Every module (the document preloads them all) and the stylesheet; not the modules' unit tests.
    let mut files: Vec<_> = std::fs::read_dir(root.join("shared/web"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            let name = path.file_name().unwrap().to_str().unwrap();
            (name.ends_with(".js") && !name.ends_with(".test.js")) || name.ends_with(".css")
        })
        .collect();
    files.sort();
    let raw: u64 = files.iter().map(|file| std::fs::metadata(file).unwrap().len()).sum();
    let compressed: usize = files.iter().map(|file| gzipped(file.to_str().unwrap())).sum();
    let mut rows = vec![format!(
        "| page weight: the {} modules of shared/web + app.css | {:.1} KB compressed ({:.1} KB raw); every page loads exactly these | 100 KB |",
        files.len() - 1,
        compressed as f64 / 1024.0,
        raw as f64 / 1024.0
    )];

    let env = TestEnv::for_pages().await.without_time_limit();
    let owner = env.create_home_organization().await;
    let email = format!("bench-{}@example.org", &accounts::ids::new_object_id()[..8]);
    let sent = env.client(&owner.auth()).send_invites(json!({"recipients": [email], "autoActivate": true})).await;
    assert_eq!(sent.status, 200);
    let link = format!("{}/invite/{}", env.base_url, invite_token(&mails_to(&email).await.pop().unwrap()));
    let client = tests::browser::session(1280, 900).await;
    let (mut paints, mut headings) = (Vec::new(), Vec::new());
    for _ in 0..PAGE_LOADS {
        client.goto(&link).await.unwrap();
        // Wait for the heading the page renders after its API calls, then read the browser's own timing.
        let timing = client
            .execute_async(
                "const done = arguments[arguments.length - 1];\n\
                 const check = () => { const h = document.querySelector('main h1');\n\
                   if (h && h.textContent.startsWith('Join')) { const navigation = performance.getEntriesByType('navigation')[0];\n\
                     done([navigation.domContentLoadedEventEnd, performance.now()]); } else { requestAnimationFrame(check); } };\n\
                 check();",
                vec![],
            )
            .await
            .unwrap();
        paints.push(timing[0].as_f64().unwrap());
        headings.push(timing[1].as_f64().unwrap());
    }
    let (paints, headings) = (sorted(paints), sorted(headings));
    rows.push(format!("| invite page: document and module loaded (DOMContentLoaded), median / max of {PAGE_LOADS} | {:.0} / {:.0} ms | 500 ms |", percentile(&paints, 0.5), paints.last().unwrap()));
    rows.push(format!("| invite page: its heading shown (after GET byInvite and GET /user), median / max | {:.0} / {:.0} ms | 500 ms |", percentile(&headings, 0.5), headings.last().unwrap()));

    // The Users page of a 10,000-user organization, signed in as its owner: time to the first page's rows.
    eprintln!("pages: seeding 10,000 users for the Users page");
    tests::seed::seed_members(&env, HOME_ORGANIZATION, 10_000, |_| vec![]).await;
    client.goto(&format!("{}/auth/login", env.base_url)).await.unwrap();
    client
        .wait()
        .for_element(fantoccini::Locator::Css("input[name=email]"))
        .await
        .unwrap()
        .send_keys(&owner.email)
        .await
        .unwrap();
    // The login asks for the address first; "Use my password" shows the password at once.
    let use_password = fantoccini::Locator::XPath("//main//button[normalize-space()='Use my password']");
    client.find(use_password).await.unwrap().click().await.unwrap();
    client.find(fantoccini::Locator::Css("input[name=password]")).await.unwrap().send_keys(PASSWORD).await.unwrap();
    client.find(fantoccini::Locator::Css("main button[type=submit]")).await.unwrap().click().await.unwrap();
    client.wait().for_element(fantoccini::Locator::Css("main h2#token-heading")).await.unwrap();
    let mut firsts = Vec::new();
    for _ in 0..PAGE_LOADS {
        client.goto(&format!("{}/users", env.base_url)).await.unwrap();
        let timing = client
            .execute_async(
                "const done = arguments[arguments.length - 1];\n\
                 const check = () => { if (document.querySelectorAll('main tbody tr').length === 50) { done(performance.now()); }\n\
                   else { requestAnimationFrame(check); } };\n\
                 check();",
                vec![],
            )
            .await
            .unwrap();
        firsts.push(timing.as_f64().unwrap());
    }
    let _ = client.close().await;
    let firsts = sorted(firsts);
    rows.push(format!(
        "| users page of a 10,000-user organization: its first 50 rows shown (after GET /user and GET /users), median / max of {PAGE_LOADS} | {:.0} / {:.0} ms | 500 ms |",
        percentile(&firsts, 0.5),
        firsts.last().unwrap()
    ));
    rows
}
