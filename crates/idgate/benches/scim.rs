//! SCIM scale figures, each printed next to its peer measured in the same run:
//! - a page deep in a large user list against the first page;
//! - `userName eq` lookups in a large node against a small one;
//! - adding one member to a 100,000-member group against a 100-member group;
//! - list reads while a writer keeps creating users against the same reads alone.
//!
//! Run with `scripts/bench` (release build). `IDGATE_BENCH_USERS` sets the large size
//! (default 100000). Runs on SQLite, and on PostgreSQL when reachable.

use std::time::{Duration, Instant};

use idgate::config::Config;
use idgate::startup::Application;
use idgate_store::testing::TestDatabase;
use idgate_store::users::{self, Provenance, UserFields};
use idgate_store::{NodeId, PoolOptions, StorageError, Store, TeamId, UserId, nodes, scim, teams};

const SAMPLES: usize = 30;

struct Bench {
    client: reqwest::Client,
    address: String,
}

impl Bench {
    async fn time(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: Option<String>,
    ) -> Duration {
        let mut req = self
            .client
            .request(method, format!("{}{path}", self.address))
            .bearer_auth(token);
        if let Some(body) = body {
            req = req
                .header("content-type", "application/scim+json")
                .body(body);
        }
        let started = Instant::now();
        let res = req.send().await.expect("request");
        let status = res.status();
        res.bytes().await.expect("body");
        assert!(status.is_success(), "{path}: {status}");
        started.elapsed()
    }
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

/// A node with `n` users and a SCIM token; returns (node, token, user ids).
async fn populate(store: &Store, name: &str, n: usize) -> (NodeId, String, Vec<UserId>) {
    let token = idgate_scim::auth::generate_token();
    let hash = token.hash.clone();
    let name = name.to_owned();
    let (node, ids) = store
        .run(move |c| {
            let node = nodes::create(c, &nodes::NodeName::parse(&name).unwrap())
                .map_err(|e| StorageError::Corrupt(e.to_string()))?;
            scim::set_token(c, node.id, &hash)?;
            let mut ids = Vec::with_capacity(n);
            for chunk in (0..n).collect::<Vec<_>>().chunks(5000) {
                idgate_store::transaction(c, |c| {
                    for i in chunk {
                        let fields = UserFields {
                            user_name: format!("user{i:06}@{name}.test"),
                            external_id: Some(format!("ext-{i}")),
                            email: Some(format!("user{i:06}@{name}.test")),
                            attributes: format!(
                                "{{\"userName\":\"user{i:06}@{name}.test\",\"active\":true}}"
                            ),
                            active: true,
                            ..UserFields::default()
                        };
                        ids.push(users::insert(c, node.id, &fields, Provenance::Scim)?.id);
                    }
                    Ok(())
                })?;
            }
            Ok((node.id, ids))
        })
        .await
        .expect("populate");
    (node, token.token, ids)
}

async fn team_with(store: &Store, node: NodeId, name: &str, members: &[UserId]) -> TeamId {
    let members = members.to_vec();
    let name = name.to_owned();
    store
        .run(move |c| {
            let team = teams::insert(c, node, &name, None, teams::TeamStatus::Approved, "bench")?;
            for chunk in members.chunks(5000) {
                idgate_store::transaction(c, |c| teams::add_members(c, node, &team.id, chunk))?;
            }
            Ok(team.id)
        })
        .await
        .expect("team")
}

async fn run(db: TestDatabase, large: usize) {
    let backend = db.backend();
    let store = Store::open(&db.url, &PoolOptions::default(), true).unwrap();
    let data_dir = tempfile::tempdir().unwrap();
    let config = Config::load_from(
        None,
        [
            ("IDGATE_LISTEN".to_owned(), "127.0.0.1:0".to_owned()),
            ("IDGATE_DATABASE_URL".to_owned(), db.url_string().to_owned()),
            (
                "IDGATE_DATA_DIR".to_owned(),
                data_dir.path().display().to_string(),
            ),
            ("IDGATE_LOG_LEVEL".to_owned(), "error".to_owned()),
        ],
    )
    .unwrap();
    let app = Application::build_with_store(config, store.clone()).unwrap();
    let bench = Bench {
        client: reqwest::Client::new(),
        address: format!("http://127.0.0.1:{}", app.port()),
    };
    tokio::spawn(app.run_until_stopped());

    let started = Instant::now();
    let (big, big_token, big_ids) = populate(&store, "big", large).await;
    let (small, small_token, small_ids) = populate(&store, "small", 100).await;
    println!(
        "\n{backend}: populated {large} + 100 users in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let ctx = Ctx {
        bench,
        store,
        large,
        big: (big, big_token, big_ids),
        small: (small, small_token, small_ids),
    };
    if backend == idgate_store::Backend::Postgres {
        // What autovacuum does after a bulk load: statistics and the visibility map that
        // index-only scans (counts, deep offsets) rely on. Paging is measured before and after.
        println!("  (before VACUUM ANALYZE)");
        paging(&ctx).await;
        let status = std::process::Command::new("psql")
            .args(["-q", "-d", db.url_string(), "-c", "VACUUM ANALYZE"])
            .status();
        assert!(
            status.is_ok_and(|s| s.success()),
            "psql VACUUM ANALYZE failed"
        );
        println!("  (after VACUUM ANALYZE)");
    }
    paging(&ctx).await;
    lookups(&ctx).await;
    membership(&ctx).await;
    contention(&ctx).await;
}

/// What every measurement needs: the app, the store, a large and a small node.
struct Ctx {
    bench: Bench,
    store: Store,
    large: usize,
    big: (NodeId, String, Vec<UserId>),
    small: (NodeId, String, Vec<UserId>),
}

fn base(node: NodeId) -> String {
    format!("/api/rest/scim/v2/{node}")
}

async fn paging(ctx: &Ctx) {
    let (big, big_token, _) = &ctx.big;
    let (bench, large) = (&ctx.bench, ctx.large);
    let mut first = Vec::new();
    let mut deep = Vec::new();
    let last_page = large.saturating_sub(100) + 1;
    for _ in 0..SAMPLES {
        first.push(
            bench
                .time(
                    reqwest::Method::GET,
                    &format!("{}/Users?startIndex=1&count=100", base(*big)),
                    big_token,
                    None,
                )
                .await,
        );
        deep.push(
            bench
                .time(
                    reqwest::Method::GET,
                    &format!("{}/Users?startIndex={last_page}&count=100", base(*big)),
                    big_token,
                    None,
                )
                .await,
        );
    }
    println!(
        "  GET /Users count=100, first page            {:>10}",
        ms(median(first))
    );
    println!(
        "  GET /Users count=100, startIndex={last_page:<7}   {:>10}",
        ms(median(deep))
    );
}

async fn lookups(ctx: &Ctx) {
    let ((big, big_token, _), (small, small_token, _)) = (&ctx.big, &ctx.small);
    let (bench, large) = (&ctx.bench, ctx.large);
    let mut in_big = Vec::new();
    let mut in_small = Vec::new();
    for i in 0..SAMPLES {
        let q = |n: &str, k: usize| {
            format!("/Users?filter=userName%20eq%20%22user{k:06}%40{n}.test%22")
        };
        in_big.push(
            bench
                .time(
                    reqwest::Method::GET,
                    &format!("{}{}", base(*big), q("big", (i * 7919) % large)),
                    big_token,
                    None,
                )
                .await,
        );
        in_small.push(
            bench
                .time(
                    reqwest::Method::GET,
                    &format!("{}{}", base(*small), q("small", i % 100)),
                    small_token,
                    None,
                )
                .await,
        );
    }
    println!(
        "  userName eq lookup, {large} users        {:>10}",
        ms(median(in_big))
    );
    println!(
        "  userName eq lookup, 100 users             {:>10}",
        ms(median(in_small))
    );
}

async fn membership(ctx: &Ctx) {
    let ((big, big_token, big_ids), (small, small_token, small_ids)) = (&ctx.big, &ctx.small);
    let (bench, large) = (&ctx.bench, ctx.large);
    let huge = team_with(
        &ctx.store,
        *big,
        "huge",
        &big_ids[..large.saturating_sub(SAMPLES)],
    )
    .await;
    let tiny = team_with(&ctx.store, *small, "tiny", &small_ids[..70]).await;
    let mut add_huge = Vec::new();
    let mut add_tiny = Vec::new();
    let patch = |id: &UserId| {
        format!(
            r#"{{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{{"op":"add","path":"members","value":[{{"value":"{id}"}}]}}]}}"#
        )
    };
    let huge_path = format!("{}/Groups/{huge}?excludedAttributes=members", base(*big));
    let tiny_path = format!("{}/Groups/{tiny}?excludedAttributes=members", base(*small));
    for i in 0..SAMPLES {
        add_huge.push(
            bench
                .time(
                    reqwest::Method::PATCH,
                    &huge_path,
                    big_token,
                    Some(patch(&big_ids[large - SAMPLES + i])),
                )
                .await,
        );
        add_tiny.push(
            bench
                .time(
                    reqwest::Method::PATCH,
                    &tiny_path,
                    small_token,
                    Some(patch(&small_ids[70 + i])),
                )
                .await,
        );
    }
    println!(
        "  PATCH add 1 member, {:>7}-member group  {:>10}",
        large - SAMPLES,
        ms(median(add_huge))
    );
    println!(
        "  PATCH add 1 member, 70-member group       {:>10}",
        ms(median(add_tiny))
    );
}

async fn contention(ctx: &Ctx) {
    let ((big, big_token, _), (small, small_token, _)) = (&ctx.big, &ctx.small);
    let bench = &ctx.bench;
    let read_path = format!(
        "{}/Users?filter=userName%20eq%20%22user000042%40small.test%22",
        base(*small)
    );
    let mut alone = Vec::new();
    for _ in 0..SAMPLES {
        alone.push(
            bench
                .time(reqwest::Method::GET, &read_path, small_token, None)
                .await,
        );
    }
    let writer_bench = Bench {
        client: reqwest::Client::new(),
        address: bench.address.clone(),
    };
    let writer_path = format!("{}/Users", base(*big));
    let writer_token = big_token.clone();
    let writer = tokio::spawn(async move {
        for i in 0..(SAMPLES * 10) {
            let body = format!(r#"{{"userName":"writer{i}@big.test","active":true}}"#);
            writer_bench
                .time(
                    reqwest::Method::POST,
                    &writer_path,
                    &writer_token,
                    Some(body),
                )
                .await;
        }
    });
    let mut contended = Vec::new();
    for _ in 0..SAMPLES {
        contended.push(
            bench
                .time(reqwest::Method::GET, &read_path, small_token, None)
                .await,
        );
    }
    writer.await.unwrap();
    println!(
        "  userName eq lookup, no writer              {:>10}",
        ms(median(alone))
    );
    println!(
        "  userName eq lookup, writer creating users  {:>10}",
        ms(median(contended))
    );
}

fn main() {
    let large: usize = std::env::var("IDGATE_BENCH_USERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    println!("SCIM scale benchmark: medians of {SAMPLES} requests over loopback HTTP");
    for db in TestDatabase::all() {
        runtime.block_on(run(db, large));
    }
}
