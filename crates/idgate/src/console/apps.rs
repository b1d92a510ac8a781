//! Applications (OIDC clients): the list and the registration form, an application's
//! page (settings, secret rotation, deletion), and the page that shows a secret once.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use idgate_store::apps::{self, App, ClientId, NodeGrant, PostLogoutRedirectUri, RedirectUri};
use idgate_store::{NodeId, Store, nodes};

use super::{Admin, Chrome, ConfirmForm, Done, see_other, unavailable, with_status};
use crate::actions::{self, ActionError, AppEdit, AppInput};
use crate::cli::rfc3339;
use crate::pages::render;

/// The registration and settings forms' values, from the stored application or as submitted.
#[derive(Debug, Default)]
struct AppForm {
    csrf: String,
    name: String,
    public: bool,
    /// One URI a line.
    redirect_uris: String,
    post_logout_redirect_uris: String,
    /// Empty for none.
    initiate_login_uri: String,
    all_nodes: bool,
    /// The ticked node ids, as submitted.
    nodes: Vec<String>,
}

impl AppForm {
    /// Reads a submitted form (`node` is repeated, one per ticked node).
    fn read(body: &[u8]) -> Self {
        let mut form = AppForm::default();
        for (key, value) in url::form_urlencoded::parse(body) {
            match key.as_ref() {
                "csrf" => form.csrf = value.into_owned(),
                "name" => form.name = value.into_owned(),
                "client_type" => form.public = value == "public",
                "redirect_uris" => form.redirect_uris = value.into_owned(),
                "post_logout_redirect_uris" => form.post_logout_redirect_uris = value.into_owned(),
                "initiate_login_uri" => value.trim().clone_into(&mut form.initiate_login_uri),
                "all_nodes" => form.all_nodes = true,
                "node" => form.nodes.push(value.into_owned()),
                _ => {}
            }
        }
        form
    }

    fn of(app: &App) -> Self {
        let lines = |uris: Vec<&str>| uris.join("\n");
        let (all_nodes, nodes) = match &app.nodes {
            NodeGrant::All => (true, Vec::new()),
            NodeGrant::Nodes(ids) => (false, ids.iter().map(ToString::to_string).collect()),
        };
        AppForm {
            csrf: String::new(),
            name: app.name.clone(),
            public: app.is_public(),
            redirect_uris: lines(app.redirect_uris.iter().map(RedirectUri::as_str).collect()),
            post_logout_redirect_uris: lines(
                app.post_logout_redirect_uris
                    .iter()
                    .map(PostLogoutRedirectUri::as_str)
                    .collect(),
            ),
            initiate_login_uri: app
                .initiate_login_uri
                .as_ref()
                .map(|u| u.as_str().to_owned())
                .unwrap_or_default(),
            all_nodes,
            nodes,
        }
    }

    /// The non-empty lines of a text box.
    fn lines(text: &str) -> Vec<String> {
        text.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect()
    }

    fn grant(&self) -> Result<NodeGrant, ActionError> {
        if self.all_nodes {
            return Ok(NodeGrant::All);
        }
        let ids = self
            .nodes
            .iter()
            .map(|raw| raw.parse::<NodeId>().map_err(ActionError::Invalid))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(NodeGrant::nodes(ids))
    }
}

/// A node the forms offer to grant, ticked or not.
struct NodeChoice {
    id: String,
    name: String,
    ticked: bool,
}

fn choices(all: Vec<nodes::Node>, form: &AppForm) -> Vec<NodeChoice> {
    all.into_iter()
        .map(|node| {
            let id = node.id.to_string();
            NodeChoice {
                ticked: form.nodes.contains(&id),
                id,
                name: node.name,
            }
        })
        .collect()
}

/// An application as the list and its page show it.
struct AppView {
    client_id: String,
    name: String,
    kind: &'static str,
    public: bool,
    /// `all nodes`, or the granted nodes' names.
    nodes: String,
    redirect_uris: Vec<String>,
    secret_created: String,
}

impl AppView {
    fn of(app: &App, all: &[nodes::Node]) -> Self {
        let nodes = match &app.nodes {
            NodeGrant::All => "all nodes".to_owned(),
            NodeGrant::Nodes(ids) => ids
                .iter()
                .map(|id| {
                    all.iter()
                        .find(|n| n.id == *id)
                        .map_or_else(|| id.to_string(), |n| n.name.clone())
                })
                .collect::<Vec<_>>()
                .join(", "),
        };
        AppView {
            client_id: app.client_id.to_string(),
            name: app.name.clone(),
            kind: app.client_type.as_str(),
            public: app.is_public(),
            nodes,
            redirect_uris: app.redirect_uris.iter().map(ToString::to_string).collect(),
            secret_created: app.secret_created_at.map(rfc3339).unwrap_or_default(),
        }
    }
}

#[derive(Template)]
#[template(path = "console/apps.html")]
struct AppsPage<'a> {
    chrome: Chrome,
    apps: Vec<AppView>,
    form: &'a AppForm,
    nodes: Vec<NodeChoice>,
}

#[derive(Template)]
#[template(path = "console/app.html")]
struct AppPage<'a> {
    chrome: Chrome,
    app: AppView,
    form: &'a AppForm,
    nodes: Vec<NodeChoice>,
}

#[derive(Template)]
#[template(path = "console/app_secret.html")]
struct SecretPage<'a> {
    chrome: Chrome,
    name: &'a str,
    client_id: &'a str,
    secret: &'a str,
    rotated: bool,
}

/// The success notices of the applications' pages (`?done=…`).
fn notice(code: Option<&str>) -> Option<&'static str> {
    Some(match code? {
        "app-created" => {
            "Application registered. It is public: it has no secret, and must use PKCE (S256)."
        }
        "app-saved" => "Application saved.",
        "app-deleted" => "Application deleted.",
        _ => return None,
    })
}

/// The list with the registration form as given.
async fn list_page(
    store: &Store,
    chrome: Chrome,
    form: &AppForm,
    status: StatusCode,
) -> HttpResponse {
    let loaded = store.run(|c| Ok((apps::list(c)?, nodes::list(c)?))).await;
    match loaded {
        Ok((all, nodes)) => with_status(
            render(&AppsPage {
                chrome,
                apps: all.iter().map(|app| AppView::of(app, &nodes)).collect(),
                nodes: choices(nodes, form),
                form,
            }),
            status,
        ),
        Err(err) => unavailable(&err),
    }
}

pub async fn list(admin: Admin, store: web::Data<Store>, query: web::Query<Done>) -> HttpResponse {
    let chrome = admin.chrome(notice(query.done.as_deref()), None);
    list_page(&store, chrome, &AppForm::default(), StatusCode::OK).await
}

pub async fn create(admin: Admin, store: web::Data<Store>, body: web::Bytes) -> HttpResponse {
    let form = AppForm::read(&body);
    if let Some(response) = admin.csrf_refusal(&form.csrf) {
        return response;
    }
    let registered = match form.grant() {
        Ok(nodes) => {
            let input = AppInput {
                name: form.name.clone(),
                public: form.public,
                redirect_uris: AppForm::lines(&form.redirect_uris),
                post_logout_redirect_uris: AppForm::lines(&form.post_logout_redirect_uris),
                nodes,
            };
            actions::create_app(&store, &admin.actor, input).await
        }
        Err(err) => Err(err),
    };
    match registered {
        Ok(actions::Registered {
            app,
            secret: Some(secret),
        }) => render(&SecretPage {
            chrome: admin.chrome(Some("Application registered."), None),
            name: &app.name,
            client_id: app.client_id.as_str(),
            secret: &secret,
            rotated: false,
        }),
        Ok(actions::Registered { app, secret: None }) => {
            see_other(&format!("/console/apps/{}?done=app-created", app.client_id))
        }
        Err(ActionError::Invalid(why)) => {
            let chrome = admin.chrome(None, Some(&format!("Not registered: {why}.")));
            list_page(&store, chrome, &form, StatusCode::BAD_REQUEST).await
        }
        Err(err) => admin.failed(&err),
    }
}

/// The 404 sentence for a path that names no application at all.
const NO_SUCH_APP: &str = "There is no such application.";

/// An application's page with its forms as given (or as stored); 404 when there is none.
async fn app_page(
    admin: &Admin,
    store: &Store,
    raw_id: &str,
    chrome: Chrome,
    form: Option<&AppForm>,
    status: StatusCode,
) -> HttpResponse {
    let Ok(client_id) = raw_id.parse::<ClientId>() else {
        return admin.not_found(NO_SUCH_APP);
    };
    let id = client_id.clone();
    let loaded = store
        .run(move |c| Ok(apps::get(c, &id)?.map(|app| (app, nodes::list(c)))))
        .await;
    let (app, nodes) = match loaded {
        Ok(Some((app, Ok(nodes)))) => (app, nodes),
        Ok(Some((_, Err(err)))) | Err(err) => return unavailable(&err),
        Ok(None) => {
            return admin.not_found(&format!(
                "There is no application with client id {client_id}."
            ));
        }
    };
    let stored;
    let form = if let Some(form) = form {
        form
    } else {
        stored = AppForm::of(&app);
        &stored
    };
    with_status(
        render(&AppPage {
            chrome,
            app: AppView::of(&app, &nodes),
            nodes: choices(nodes, form),
            form,
        }),
        status,
    )
}

pub async fn show(
    admin: Admin,
    store: web::Data<Store>,
    path: web::Path<String>,
    query: web::Query<Done>,
) -> HttpResponse {
    let chrome = admin.chrome(notice(query.done.as_deref()), None);
    app_page(&admin, &store, &path, chrome, None, StatusCode::OK).await
}

pub async fn update(
    admin: Admin,
    store: web::Data<Store>,
    path: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let form = AppForm::read(&body);
    if let Some(response) = admin.csrf_refusal(&form.csrf) {
        return response;
    }
    let Ok(client_id) = path.parse::<ClientId>() else {
        return admin.not_found(NO_SUCH_APP);
    };
    let result = match form.grant() {
        Ok(nodes) => {
            let edit = AppEdit {
                name: Some(form.name.clone()),
                redirect_uris: Some(AppForm::lines(&form.redirect_uris)),
                post_logout_redirect_uris: Some(AppForm::lines(&form.post_logout_redirect_uris)),
                nodes: Some(nodes),
                initiate_login_uri: Some(
                    Some(form.initiate_login_uri.clone()).filter(|u| !u.is_empty()),
                ),
            };
            actions::update_app(&store, &admin.actor, &client_id, edit).await
        }
        Err(err) => Err(err),
    };
    match result {
        Ok(_) => see_other(&format!("/console/apps/{client_id}?done=app-saved")),
        Err(ActionError::Invalid(why)) => {
            let chrome = admin.chrome(None, Some(&format!("Not saved: {why}.")));
            app_page(
                &admin,
                &store,
                &path,
                chrome,
                Some(&form),
                StatusCode::BAD_REQUEST,
            )
            .await
        }
        Err(err) => admin.failed(&err),
    }
}

/// Gives a confidential client a new secret and shows it once.
pub async fn rotate(
    admin: Admin,
    store: web::Data<Store>,
    path: web::Path<String>,
    form: web::Form<ConfirmForm>,
) -> HttpResponse {
    if let Some(response) = admin.csrf_refusal(&form.csrf) {
        return response;
    }
    let Ok(client_id) = path.parse::<ClientId>() else {
        return admin.not_found(NO_SUCH_APP);
    };
    if form.confirm.is_none() {
        let chrome = admin.chrome(
            None,
            Some("Not rotated: tick the box to confirm that the current secret stops working now."),
        );
        return app_page(&admin, &store, &path, chrome, None, StatusCode::BAD_REQUEST).await;
    }
    match actions::rotate_app_secret(&store, &admin.actor, &client_id).await {
        Ok((app, secret)) => render(&SecretPage {
            chrome: admin.chrome(None, None),
            name: &app.name,
            client_id: app.client_id.as_str(),
            secret: &secret,
            rotated: true,
        }),
        Err(err) => admin.failed(&err),
    }
}

pub async fn delete(
    admin: Admin,
    store: web::Data<Store>,
    path: web::Path<String>,
    form: web::Form<ConfirmForm>,
) -> HttpResponse {
    if let Some(response) = admin.csrf_refusal(&form.csrf) {
        return response;
    }
    let Ok(client_id) = path.parse::<ClientId>() else {
        return admin.not_found(NO_SUCH_APP);
    };
    if form.confirm.is_none() {
        let chrome = admin.chrome(
            None,
            Some("Not deleted: tick the box to confirm that the application can no longer sign anyone in."),
        );
        return app_page(&admin, &store, &path, chrome, None, StatusCode::BAD_REQUEST).await;
    }
    match actions::delete_app(&store, &admin.actor, &client_id).await {
        Ok(_) => see_other("/console/apps?done=app-deleted"),
        Err(err) => admin.failed(&err),
    }
}
