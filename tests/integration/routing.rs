use tests::{Auth, TestEnv};

#[tokio::test]
async fn buildinfo_names_the_supported_api_versions() {
    let env = TestEnv::new().await;
    for path in ["/api/buildinfo", "/api/v16/buildinfo", "/api/v13/buildinfo"] {
        let response = env.get(path, &Auth::None).await;
        assert_eq!(response.status, 200, "{path}");
        assert_eq!(response.body["httpApiVersioning"]["currentApiVersion"], 16);
        assert_eq!(response.body["httpApiVersioning"]["oldestSupportedApiVersion"], 13);
        assert_eq!(response.body["webknossos"]["name"], "webknossos-accounts");
        assert_eq!(response.body["localDataStoreEnabled"], false);
    }
}

#[tokio::test]
async fn unsupported_versions_and_unknown_routes_get_a_json_404() {
    let env = TestEnv::new().await;
    for (path, code) in [
        ("/api/v12/buildinfo", "api.version.unsupported"),
        ("/api/v17/user", "api.version.unsupported"),
        ("/api/nothing", "route.notFound"),
        ("/api", "route.notFound"),
    ] {
        let response = env.get(path, &Auth::None).await;
        assert_eq!(response.status, 404, "{path}");
        assert_eq!(response.error_code(), code, "{path}");
        assert!(response.body["messages"][0]["error"].as_str().unwrap().len() > 10);
    }
    let wrong_method = env.request("PUT", "/api/user", None, &Auth::None).await;
    assert_eq!((wrong_method.status, wrong_method.error_code()), (404, "route.notFound"));
    // Outside /api are the pages (docs/web.md); they answer only GET.
    let page = env.get("/", &Auth::None).await;
    assert_eq!((page.status, page.header("content-type")), (200, Some("text/html; charset=utf-8")));
    let posted = env.request("POST", "/auth/login", None, &Auth::None).await;
    assert_eq!((posted.status, posted.error_code()), (405, "request.method.notAllowed"));
}
