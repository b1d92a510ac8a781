//! The audit log as Directory Insights shows it: newest first, filters, paging, and an export
//! of the filtered events as JSON lines.

use actix_web::http::StatusCode;
use actix_web::http::header::CONTENT_DISPOSITION;
use actix_web::{HttpResponse, web};
use askama::Template;
use idgate_store::events::{self, EventQuery, Outcome};
use idgate_store::{NodeId, Store, nodes};
use serde::Deserialize;

use super::{Admin, Chrome, MAX_PAGE, PAGE_SIZE, unavailable, with_status};
use crate::actions;
use crate::cli::rfc3339;
use crate::pages::render;

/// The most events one export holds (narrow the filters for more).
const EXPORT_LIMIT: i64 = 100_000;

/// The filters as typed in the form (and kept in the paging and export links).
#[derive(Debug, Default, Clone, Deserialize)]
pub struct Filters {
    #[serde(default)]
    node: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    who: String,
    #[serde(default)]
    outcome: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    page: Option<i64>,
}

impl Filters {
    fn query(&self) -> Result<EventQuery, String> {
        let node_id = match self.node.trim() {
            "" => None,
            raw => Some(
                raw.parse::<NodeId>()
                    .map_err(|_| format!("'{raw}' is not a node id"))?,
            ),
        };
        let outcome = match self.outcome.as_str() {
            "" => None,
            "success" => Some(Outcome::Success),
            "failure" => Some(Outcome::Failure),
            other => return Err(format!("'{other}' is not an outcome (success or failure)")),
        };
        let (from, until) = actions::date_range(&self.from, &self.to).map_err(|e| e.to_string())?;
        let text = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
        Ok(EventQuery {
            node_id,
            kind: text(&self.kind),
            who: text(&self.who),
            target: None,
            outcome,
            from,
            until,
        })
    }

    /// The filters as a query string (without the page).
    fn query_string(&self) -> String {
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair("node", &self.node)
            .append_pair("kind", &self.kind)
            .append_pair("who", &self.who)
            .append_pair("outcome", &self.outcome)
            .append_pair("from", &self.from)
            .append_pair("to", &self.to)
            .finish()
    }
}

struct Row {
    at: String,
    node: String,
    kind: String,
    actor: String,
    target: String,
    outcome: &'static str,
    detail: String,
}

#[derive(Template)]
#[template(path = "console/events.html")]
struct EventsPage<'a> {
    chrome: Chrome,
    filters: &'a Filters,
    nodes: Vec<(String, String)>,
    kinds: Vec<String>,
    rows: Vec<Row>,
    total: i64,
    page: i64,
    pages: i64,
    link: String,
}

pub async fn list(
    admin: Admin,
    store: web::Data<Store>,
    filters: web::Query<Filters>,
) -> HttpResponse {
    let filters = filters.into_inner();
    let page = filters.page.unwrap_or(1).clamp(1, MAX_PAGE);
    let (query, error) = match filters.query() {
        Ok(query) => (Some(query), None),
        Err(why) => (None, Some(why)),
    };
    let loaded = store
        .run(move |c| {
            let names: Vec<(String, String)> = nodes::list(c)?
                .into_iter()
                .map(|n| (n.id.to_string(), n.name))
                .collect();
            let kinds = events::kinds(c)?;
            let (total, found) = match &query {
                Some(q) => (
                    events::count(c, q)?,
                    events::search(c, q, (page - 1) * PAGE_SIZE, PAGE_SIZE)?,
                ),
                None => (0, Vec::new()),
            };
            Ok((names, kinds, total, found))
        })
        .await;
    let (names, kinds, total, found) = match loaded {
        Ok(loaded) => loaded,
        Err(err) => return unavailable(&err),
    };
    let rows = found
        .into_iter()
        .map(|e| Row {
            at: rfc3339(e.at),
            node: e
                .node_id
                .and_then(|id| names.iter().find(|(n, _)| *n == id.to_string()))
                .map(|(_, name)| name.clone())
                .unwrap_or_default(),
            kind: e.kind,
            actor: e.actor,
            target: e.target.unwrap_or_default(),
            outcome: e.outcome.as_str(),
            detail: e.detail,
        })
        .collect();
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    with_status(
        render(&EventsPage {
            chrome: admin.chrome(None, error.as_deref()),
            link: filters.query_string(),
            filters: &filters,
            nodes: names,
            kinds,
            rows,
            total,
            page,
            pages: ((total + PAGE_SIZE - 1) / PAGE_SIZE).max(1),
        }),
        status,
    )
}

/// The filtered events, newest first, one JSON object per line.
pub async fn export(
    admin: Admin,
    store: web::Data<Store>,
    filters: web::Query<Filters>,
) -> HttpResponse {
    let query = match filters.query() {
        Ok(query) => query,
        Err(why) => return admin.message(StatusCode::BAD_REQUEST, "Not exported", &why),
    };
    let actor = admin.actor.0.clone();
    let found = store
        .run(move |c| {
            let total = events::count(c, &query)?;
            let found = events::search(c, &query, 0, EXPORT_LIMIT)?;
            events::record(
                c,
                &events::NewEvent {
                    node_id: query.node_id,
                    kind: "events_export",
                    actor: &actor,
                    target: None,
                    outcome: Outcome::Success,
                    detail: &format!("{} of {total} event(s)", found.len()),
                },
            )?;
            Ok((found, total))
        })
        .await;
    let (found, total) = match found {
        Ok(found) => found,
        Err(err) => return unavailable(&err),
    };
    let mut body = String::new();
    for event in &found {
        body.push_str(&actions::event_line(event));
        body.push('\n');
    }
    HttpResponse::Ok()
        .content_type("application/x-ndjson")
        .insert_header((
            CONTENT_DISPOSITION,
            "attachment; filename=\"idgate-events.jsonl\"",
        ))
        // The newest EXPORT_LIMIT only: say how many matched, so that a cut is visible.
        .insert_header(("X-Idgate-Events-Matched", total.to_string()))
        .body(body)
}
