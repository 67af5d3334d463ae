//! The deployable bundle agrees with the code: `template.yaml`'s routes and table equal the
//! routers and `store/table.rs`, the local bootstrap builds the same table, and every
//! `events/*.json` payload goes through `lambda_http`'s real deserialisation into the router of
//! its function and lands on the intended route.

use serde_json::Value;
use serde_yaml::Value as Yaml;
use std::collections::BTreeSet;
use std::sync::Arc;
use ticketing::cache::MemoryCache;
use ticketing::config::Config;
use ticketing::http::{router, Function};
use ticketing::store::{table, MemoryStore};
use ticketing::AppState;
use ticketing_tests::samples::{self, load, root, SAMPLES};
use ticketing_tests::{dynamo_store, Backend, TestApp};
use tower::ServiceExt;

fn template() -> Yaml {
    let text = std::fs::read_to_string(root().join("template.yaml")).unwrap();
    serde_yaml::from_str(&text).expect("template.yaml parses")
}

/// The template's Lambda functions: logical name, binary, resource.
fn functions(template: &Yaml) -> impl Iterator<Item = (&str, &str, &Yaml)> {
    template["Resources"]
        .as_mapping()
        .unwrap()
        .iter()
        .filter(|(_, resource)| resource["Type"].as_str() == Some("AWS::Serverless::Function"))
        .map(|(name, resource)| {
            let name = name.as_str().unwrap();
            let binary = resource["Metadata"]["BuildProperties"]["Binary"]
                .as_str()
                .unwrap_or_else(|| panic!("{name:?} has no Binary"));
            (name, binary, resource)
        })
}

fn function_of(binary: &str) -> Function {
    Function::ALL
        .into_iter()
        .find(|f| f.name() == binary)
        .unwrap_or_else(|| panic!("unknown binary {binary}"))
}

fn state() -> AppState {
    AppState::new(
        Config::for_tests(),
        Arc::new(MemoryStore::new()),
        Arc::new(MemoryCache::new()),
    )
}

#[test]
fn template_routes_equal_the_routers() {
    let template = template();
    let state = state();
    let mut seen_functions = BTreeSet::new();
    for (_, binary, resource) in functions(&template) {
        assert_eq!(
            resource["Metadata"]["BuildMethod"].as_str(),
            Some("rust-cargolambda")
        );
        if binary == "mailer" {
            assert_mailer_wiring(resource);
            continue;
        }
        let function = function_of(binary);
        seen_functions.insert(binary.to_owned());
        // The HTTP functions reach the cache: each is in the VPC.
        assert!(
            !resource["Properties"]["VpcConfig"]["SubnetIds"].is_null(),
            "{binary} is not in the VPC"
        );
        let in_template: BTreeSet<(String, String)> = resource["Properties"]["Events"]
            .as_mapping()
            .unwrap()
            .values()
            .map(|e| {
                assert_eq!(e["Type"].as_str(), Some("HttpApi"));
                (
                    e["Properties"]["Method"].as_str().unwrap().to_owned(),
                    e["Properties"]["Path"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        let in_router: BTreeSet<(String, String)> = function
            .route_list(&state)
            .into_iter()
            .map(|(m, p)| (m.to_string(), p.to_owned()))
            .collect();
        assert_eq!(in_template, in_router, "routes of {binary}");
    }
    let all: BTreeSet<String> = Function::ALL.iter().map(|f| f.name().to_owned()).collect();
    assert_eq!(
        seen_functions, all,
        "one function resource per endpoint group"
    );
}

/// The mailer is woken by new outbox items on the table's stream (a filter passes only those,
/// as `new_mail_ids` expects) and by a schedule, and may send mail and nothing else of SES.
fn assert_mailer_wiring(resource: &Yaml) {
    // Outside the VPC: SES's API has no VPC endpoint, and the globals put no function in one.
    assert!(resource["Properties"]["VpcConfig"].is_null());
    assert!(template()["Globals"]["Function"]["VpcConfig"].is_null());
    let events = resource["Properties"]["Events"].as_mapping().unwrap();
    let kinds: BTreeSet<&str> = events.values().filter_map(|e| e["Type"].as_str()).collect();
    assert_eq!(kinds, BTreeSet::from(["DynamoDB", "ScheduleV2"]));
    let stream = events
        .values()
        .find(|e| e["Type"].as_str() == Some("DynamoDB"))
        .unwrap();
    let pattern = stream["Properties"]["FilterCriteria"]["Filters"][0]["Pattern"]
        .as_str()
        .unwrap();
    let filter: serde_json::Value = serde_json::from_str(pattern).unwrap();
    let prefix = ticketing::store::table::keys::mail("").0;
    assert_eq!(
        filter["dynamodb"]["Keys"]["pk"]["S"][0]["prefix"],
        prefix.as_str()
    );
    assert_eq!(filter["eventName"][0], "INSERT");
    assert!(
        stream["Properties"]["DestinationConfig"]["OnFailure"].is_mapping(),
        "a dead-letter queue"
    );
    let record = serde_json::json!({ "Records": [{ "eventName": "INSERT",
        "dynamodb": { "Keys": { "pk": { "S": format!("{prefix}verify.x") } } } }] });
    assert_eq!(ticketing::startup::new_mail_ids(&record), ["verify.x"]);
    let statements = resource["Properties"]["Policies"][0]["Statement"]
        .as_sequence()
        .unwrap();
    let ses: Vec<&Yaml> = statements
        .iter()
        .flat_map(|s| s["Action"].as_sequence().unwrap())
        .filter(|a| a.as_str().is_some_and(|a| a.starts_with("ses:")))
        .collect();
    assert_eq!(ses, [&Yaml::String("ses:SendEmail".into())]);
}

/// The table design as (keys, indexes, ttl) in a comparable form.
type Design = (
    Vec<(String, String)>,
    BTreeSet<(String, String, String)>,
    String,
);

fn design() -> Design {
    let keys = vec![
        (table::PARTITION_KEY.into(), "HASH".into()),
        (table::SORT_KEY.into(), "RANGE".into()),
    ];
    let indexes = table::INDEXES
        .iter()
        .map(|i| (i.name.into(), i.partition_key.into(), i.sort_key.into()))
        .collect();
    (keys, indexes, table::TTL_ATTRIBUTE.into())
}

/// Stripe's secret keys reach the functions that call Stripe (the groups that say so, and the
/// mailer's sweep) and no other: not in the globals, not in auth, events or health.
#[test]
fn only_the_functions_that_call_stripe_get_its_secrets() {
    let template = template();
    let globals = &template["Globals"]["Function"]["Environment"]["Variables"];
    // The publishable key is public: every function may show it.
    assert!(!globals["STRIPE_PUBLISHABLE_KEY"].is_null());
    let mut given = BTreeSet::new();
    for (name, binary, resource) in functions(&template) {
        let vars = &resource["Properties"]["Environment"]["Variables"];
        let needs = binary == "mailer" || function_of(binary).calls_payments();
        for key in ["STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET"] {
            assert!(
                globals[key].is_null(),
                "{key} is a global: every function gets it"
            );
            assert_eq!(!vars[key].is_null(), needs, "{name:?}: {key}");
        }
        if needs {
            given.insert(binary.to_owned());
        }
    }
    assert_eq!(
        given,
        BTreeSet::from(["bookings".to_owned(), "mailer".to_owned()])
    );
}

#[test]
fn template_table_equals_the_table_design() {
    let template = template();
    let props = &template["Resources"]["Table"]["Properties"];
    let keys: Vec<(String, String)> = props["KeySchema"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|k| {
            (
                k["AttributeName"].as_str().unwrap().into(),
                k["KeyType"].as_str().unwrap().into(),
            )
        })
        .collect();
    let indexes: BTreeSet<(String, String, String)> = props["GlobalSecondaryIndexes"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|i| {
            assert_eq!(i["Projection"]["ProjectionType"].as_str(), Some("ALL"));
            let ks = i["KeySchema"].as_sequence().unwrap();
            (
                i["IndexName"].as_str().unwrap().into(),
                ks[0]["AttributeName"].as_str().unwrap().into(),
                ks[1]["AttributeName"].as_str().unwrap().into(),
            )
        })
        .collect();
    let ttl = props["TimeToLiveSpecification"]["AttributeName"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!((keys, indexes, ttl), design());
    assert_eq!(props["BillingMode"].as_str(), Some("PAY_PER_REQUEST"));
    assert_eq!(
        props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"].as_bool(),
        Some(true)
    );
}

#[tokio::test]
async fn local_bootstrap_builds_the_designed_table() {
    let store = dynamo_store().await;
    let described = store
        .client()
        .await
        .describe_table()
        .table_name(store.table_name())
        .send()
        .await
        .unwrap();
    let t = described.table().unwrap();
    let keys: Vec<(String, String)> = t
        .key_schema()
        .iter()
        .map(|k| {
            (
                k.attribute_name().to_owned(),
                k.key_type().as_str().to_owned(),
            )
        })
        .collect();
    let indexes: BTreeSet<(String, String, String)> = t
        .global_secondary_indexes()
        .iter()
        .map(|i| {
            let ks = i.key_schema();
            (
                i.index_name().unwrap().to_owned(),
                ks[0].attribute_name().to_owned(),
                ks[1].attribute_name().to_owned(),
            )
        })
        .collect();
    let ttl = store
        .client()
        .await
        .describe_time_to_live()
        .table_name(store.table_name())
        .send()
        .await
        .unwrap();
    let ttl_attr = ttl
        .time_to_live_description()
        .and_then(|d| d.attribute_name())
        .unwrap_or("")
        .to_owned();
    assert_eq!((keys, indexes, ttl_attr), design());
    // Idempotent: a second run changes nothing and succeeds.
    assert!(
        !table::ensure_table(store.client().await, store.table_name())
            .await
            .unwrap()
    );
}

async fn invoke(state: &AppState, payload: &Value, function: Function) -> (u16, Value) {
    let request = lambda_http::request::from_str(&payload.to_string())
        .expect("lambda_http reads the payload");
    let response = router(state.clone(), function)
        .oneshot(request)
        .await
        .unwrap();
    let status = response.status().as_u16();
    let bytes = http_body_util::BodyExt::collect(response.into_body())
        .await
        .unwrap()
        .to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

#[test]
fn every_route_has_a_sample_payload_and_every_payload_is_listed() {
    let files: BTreeSet<String> = std::fs::read_dir(root().join("events"))
        .unwrap()
        .map(|e| {
            e.unwrap()
                .path()
                .file_stem()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    let listed: BTreeSet<String> = SAMPLES.iter().map(|(n, _)| n.to_string()).collect();
    assert_eq!(files, listed);
    let state = state();
    let mut routes = BTreeSet::new();
    for name in &files {
        let payload = load(name);
        let (method, path) = payload["routeKey"]
            .as_str()
            .unwrap()
            .split_once(' ')
            .unwrap();
        routes.insert((method.to_owned(), path.to_owned()));
        let function = function_of(name.split('-').next().unwrap());
        assert!(
            function
                .route_list(&state)
                .iter()
                .any(|(m, p)| m.as_str() == method && *p == path),
            "{name}: {method} {path}"
        );
    }
    let all: BTreeSet<_> = Function::ALL
        .iter()
        .flat_map(|f| f.route_list(&state))
        .map(|(m, p)| (m.to_string(), p.to_owned()))
        .collect();
    assert_eq!(routes, all, "one sample per route");
}

#[tokio::test]
async fn sample_payloads_route_through_the_real_handlers() {
    // First as shipped: placeholders are not tokens, so protected routes are 401 — and nothing
    // is a 404 or 405, which would mean a routing mismatch.
    let app = TestApp::new(Backend::Memory).await;
    samples::seed(&app.state).await;
    for (name, _) in SAMPLES {
        let payload = load(name);
        let function = function_of(samples::function_of(name));
        let (status, body) = invoke(&app.state, &payload, function).await;
        assert!(status != 404 && status != 405, "{name}: {status} {body}");
        let protected = payload["headers"]["authorization"].is_string()
            || name.starts_with("auth-refresh")
            || name.starts_with("auth-logout");
        if protected {
            assert_eq!(status, 401, "{name}: {body}");
        }
    }

    // Then with real tokens injected, on a fresh store: each lands with its success status.
    let fresh = TestApp::new(Backend::Memory).await;
    let mut session = samples::seed(&fresh.state).await;
    for (name, expected) in SAMPLES {
        let payload = session.prepare(name);
        let function = function_of(samples::function_of(name));
        let (status, body) = invoke(&fresh.state, &payload, function).await;
        assert_eq!(status, *expected, "{name}: {body}");
        session.observe(&body);
    }
}

#[test]
fn openapi_paths_equal_the_routers() {
    let text = std::fs::read_to_string(root().join("openapi.yaml")).unwrap();
    let spec: Yaml = serde_yaml::from_str(&text).unwrap();
    assert_eq!(spec["openapi"].as_str(), Some("3.1.0"));
    let methods = ["get", "post", "put", "patch", "delete"];
    let in_spec: BTreeSet<(String, String)> = spec["paths"]
        .as_mapping()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            let path = path.as_str().unwrap().to_owned();
            methods
                .iter()
                .filter(|m| item.get(**m).is_some())
                .map(|m| (m.to_uppercase(), path.clone()))
                .collect::<Vec<_>>()
        })
        .collect();
    let state = state();
    let in_router: BTreeSet<(String, String)> = Function::ALL
        .iter()
        .flat_map(|f| f.route_list(&state))
        .map(|(m, p)| (m.to_string(), p.to_owned()))
        .collect();
    assert_eq!(in_spec, in_router);
    // Every error code the code can produce is declared.
    let codes: BTreeSet<&str> = spec["components"]["schemas"]["Error"]["properties"]["code"]
        ["enum"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let errors = <ticketing::AppError as strum::IntoEnumIterator>::iter();
    for error in errors {
        assert!(codes.contains(error.status_and_code().1), "{error:?}");
    }
    assert!(codes.contains("RATE_LIMITED") && codes.contains("INVALID_STATUS_CHANGE"));
}

const CACHING_DISABLED: &str = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad";
const ALL_VIEWER_EXCEPT_HOST: &str = "b689b0a8-53d0-40ab-baf2-68738e2966ac";

/// CloudFront puts the app and the API on one origin: the default behaviour is the private bucket
/// with the routing function; `/api/*` and `/health*` reach the HTTP API uncached with headers,
/// cookies and query forwarded, and cover every route of every function with its method.
#[test]
fn the_distribution_serves_the_app_and_every_route_from_one_origin() {
    let template = template();
    let resources = &template["Resources"];
    let config = &resources["SiteDistribution"]["Properties"]["DistributionConfig"];
    let default = &config["DefaultCacheBehavior"];
    assert_eq!(default["TargetOriginId"].as_str(), Some("site"));
    assert_eq!(
        default["FunctionAssociations"][0]["EventType"].as_str(),
        Some("viewer-request")
    );
    let origins = config["Origins"].as_sequence().unwrap();
    let site = origins.iter().find(|o| o["Id"] == "site").unwrap();
    assert!(
        format!("{:?}", site["OriginAccessControlId"]).contains("SiteOriginAccessControl"),
        "the bucket is read through Origin Access Control"
    );
    let access = &resources["SiteBucket"]["Properties"]["PublicAccessBlockConfiguration"];
    for flag in [
        "BlockPublicAcls",
        "BlockPublicPolicy",
        "IgnorePublicAcls",
        "RestrictPublicBuckets",
    ] {
        assert_eq!(access[flag].as_bool(), Some(true), "{flag}");
    }
    let api = origins.iter().find(|o| o["Id"] == "api").unwrap();
    assert!(format!("{:?}", api["DomainName"]).contains("${HttpApi}"));

    let behaviours = config["CacheBehaviors"].as_sequence().unwrap();
    let patterns: BTreeSet<&str> = behaviours
        .iter()
        .map(|b| b["PathPattern"].as_str().unwrap())
        .collect();
    assert_eq!(patterns, BTreeSet::from(["/api/*", "/health*"]));
    for b in behaviours {
        assert_eq!(b["TargetOriginId"].as_str(), Some("api"));
        assert_eq!(b["CachePolicyId"].as_str(), Some(CACHING_DISABLED));
        assert_eq!(
            b["OriginRequestPolicyId"].as_str(),
            Some(ALL_VIEWER_EXCEPT_HOST)
        );
    }
    let state = state();
    for function in Function::ALL {
        for (method, path) in function.route_list(&state) {
            let behaviour = behaviours
                .iter()
                .find(|b| {
                    let prefix = b["PathPattern"].as_str().unwrap().trim_end_matches('*');
                    path.starts_with(prefix)
                })
                .unwrap_or_else(|| panic!("{path} reaches no API behaviour"));
            let methods: Vec<&str> = behaviour["AllowedMethods"]
                .as_sequence()
                .unwrap()
                .iter()
                .filter_map(Yaml::as_str)
                .collect();
            assert!(methods.contains(&method.as_str()), "{method} {path}");
        }
    }
}

/// Both response-headers policies carry the contract's security headers as the code sends them;
/// the app's document gets the same CSP as the local server gives it.
#[test]
fn cloudfront_headers_equal_the_codes() {
    use ticketing::http::site::{app_content_security_policy, APP_CONTENT_SECURITY_POLICY};
    use ticketing::http::SECURITY_HEADERS;
    let header = |name: &str| {
        SECURITY_HEADERS
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| *v)
            .unwrap()
    };
    let template = template();
    // The site's policy depends on payments: `!If [PaymentsOn, with Stripe.js, without]`.
    let site = &template["Resources"]["SiteHeadersPolicy"]["Properties"]
        ["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]["ContentSecurityPolicy"]
        ["ContentSecurityPolicy"];
    let Yaml::Tagged(choice) = site else {
        panic!("the site's CSP is an !If on PaymentsOn: {site:?}")
    };
    assert_eq!(choice.tag, serde_yaml::value::Tag::new("If"));
    let branches = choice.value.as_sequence().unwrap();
    assert_eq!(branches[0].as_str(), Some("PaymentsOn"));
    let stripe = app_content_security_policy(Some("https://js.stripe.com/v3/"));
    assert_eq!(branches[1].as_str(), Some(stripe.as_str()), "payments on");
    assert_eq!(
        branches[2].as_str(),
        Some(APP_CONTENT_SECURITY_POLICY),
        "payments off"
    );
    for (policy, csp) in [
        ("SiteHeadersPolicy", None),
        ("ApiHeadersPolicy", Some(header("content-security-policy"))),
    ] {
        let h = &template["Resources"][policy]["Properties"]["ResponseHeadersPolicyConfig"]
            ["SecurityHeadersConfig"];
        if let Some(csp) = csp {
            assert_eq!(
                h["ContentSecurityPolicy"]["ContentSecurityPolicy"].as_str(),
                Some(csp),
                "{policy}"
            );
        }
        assert_eq!(
            h["FrameOptions"]["FrameOption"].as_str(),
            Some(header("x-frame-options"))
        );
        assert_eq!(
            h["ReferrerPolicy"]["ReferrerPolicy"].as_str(),
            Some(header("referrer-policy"))
        );
        assert_eq!(header("x-content-type-options"), "nosniff");
        assert!(h["ContentTypeOptions"]["Override"].as_bool().unwrap());
        let hsts = &h["StrictTransportSecurity"];
        assert_eq!(
            format!(
                "max-age={}{}",
                hsts["AccessControlMaxAgeSec"].as_u64().unwrap(),
                if hsts["IncludeSubdomains"].as_bool() == Some(true) {
                    "; includeSubDomains"
                } else {
                    ""
                }
            ),
            header("strict-transport-security"),
            "{policy}"
        );
    }
    // The routing function's 404 is the contract's (the local server answers the same).
    let code = template["Resources"]["SiteRoutingFunction"]["Properties"]["FunctionCode"]
        .as_str()
        .unwrap();
    let body = code
        .split("data: '")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .unwrap();
    let body: Value = serde_json::from_str(body).unwrap();
    assert_eq!(body["code"], "NOT_FOUND");
    assert_eq!(body["success"], false);
    assert_eq!(
        body["message"],
        ticketing::AppError::NotFound.public_message()
    );
}

/// Every place in `value` where a metric of our own namespace is named: (metric, dimensions).
fn own_metrics(value: &Yaml, found: &mut Vec<(String, Vec<String>)>) {
    match value {
        Yaml::Mapping(map) => {
            let own = map.get("Namespace").is_some_and(|ns| match ns {
                Yaml::Tagged(tagged) => {
                    tagged.tag == "Ref" && tagged.value.as_str() == Some("MetricsNamespace")
                }
                _ => false,
            });
            if own {
                let metric = map["MetricName"]
                    .as_str()
                    .expect("a metric name")
                    .to_owned();
                let dimensions = map
                    .get("Dimensions")
                    .and_then(Yaml::as_sequence)
                    .map(|dims| {
                        dims.iter()
                            .filter_map(|d| d["Name"].as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default();
                found.push((metric, dimensions));
            }
            for child in map.values() {
                own_metrics(child, found);
            }
        }
        Yaml::Sequence(items) => items.iter().for_each(|item| own_metrics(item, found)),
        Yaml::Tagged(tagged) => own_metrics(&tagged.value, found),
        _ => {}
    }
}

#[test]
fn alarms_and_dashboard_use_the_metrics_the_code_emits() {
    use ticketing::metric::name;
    let template = template();
    // The namespace's default is the code's.
    assert_eq!(
        template["Parameters"]["MetricsNamespace"]["Default"].as_str(),
        Some(Config::for_tests().metrics_namespace.as_str())
    );
    let mut found = Vec::new();
    own_metrics(&template["Resources"], &mut found);
    assert!(found.len() >= 5, "{found:?}");
    for (metric, dimensions) in &found {
        assert!(
            name::ALL.contains(&metric.as_str()),
            "{metric} is not emitted"
        );
        assert_eq!(dimensions.first().map(String::as_str), Some(name::FUNCTION));
        for dimension in dimensions {
            assert!([name::FUNCTION, name::DEPENDENCY].contains(&dimension.as_str()));
        }
    }
    // The dashboard's widgets name metrics inside a JSON string.
    let text = std::fs::read_to_string(root().join("template.yaml")).unwrap();
    let marker = "\"${MetricsNamespace}\", \"";
    let on_dashboard: Vec<&str> = text
        .split(marker)
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .collect();
    assert!(on_dashboard.len() >= 5, "{on_dashboard:?}");
    for metric in on_dashboard {
        assert!(
            name::ALL.contains(&metric),
            "dashboard: {metric} is not emitted"
        );
    }
    // Every function has its Errors and Throttles alarms, all alarms notify the topic.
    let resources = template["Resources"].as_mapping().unwrap();
    for function in Function::ALL {
        let resource = format!("{}Function", capitalised(function.name()));
        for metric in ["Errors", "Throttles"] {
            let alarm = resources
                .values()
                .find(|r| {
                    r["Type"].as_str() == Some("AWS::CloudWatch::Alarm")
                        && r["Properties"]["MetricName"].as_str() == Some(metric)
                        && r["Properties"]["Dimensions"][0]["Value"]
                            == Yaml::Tagged(Box::new(serde_yaml::value::TaggedValue {
                                tag: serde_yaml::value::Tag::new("Ref"),
                                value: Yaml::String(resource.clone()),
                            }))
                })
                .unwrap_or_else(|| panic!("no {metric} alarm for {resource}"));
            assert!(alarm["Properties"]["AlarmActions"].is_sequence());
        }
    }
}

fn capitalised(name: &str) -> String {
    let mut chars = name.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}
