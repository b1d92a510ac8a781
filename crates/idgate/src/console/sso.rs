//! One SSO method: what to give the IdP (with copy buttons and downloads), importing the IdP's
//! metadata (file or paste; when it describes several identity providers, a second step to
//! choose one), warnings about the IdP's certificates, settings, rotating the SP certificate,
//! deleting.

use actix_multipart::Multipart;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use futures_util::StreamExt;
use idgate_saml::sp::SpUrls;
use idgate_store::sso::{self, RequireSigned, SettingsChange, SsoMethod};
use idgate_store::{EmailDomain, SsoId, Store};
use serde::Deserialize;

use super::{Admin, Chrome, ConfirmForm, Done, notice, see_other, unavailable, with_status};
use crate::actions::{self, ActionError};
use crate::config::Config;
use crate::pages::render;

/// The largest upload read: a file and a paste of the largest metadata the importer takes.
const MAX_UPLOAD: usize = 2 * idgate_saml::idp::MAX_METADATA_BYTES + 64 * 1024;

/// The settings form's values, from the stored method or as submitted.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct SettingsForm {
    csrf: String,
    jit: Option<String>,
    idp_initiated: Option<String>,
    sign_requests: Option<String>,
    allow_sha1: Option<String>,
    #[serde(default)]
    clock_skew: String,
    #[serde(default)]
    require_signed: String,
    require_encryption: Option<String>,
    #[serde(default)]
    domains: String,
    #[serde(default)]
    attr_email: String,
    #[serde(default)]
    attr_first_name: String,
    #[serde(default)]
    attr_last_name: String,
}

impl SettingsForm {
    fn of(method: &SsoMethod) -> Self {
        let on = |b: bool| b.then(|| "on".to_owned());
        SettingsForm {
            csrf: String::new(),
            jit: on(method.jit),
            idp_initiated: on(method.idp_initiated),
            sign_requests: on(method.sign_requests),
            allow_sha1: on(method.allow_sha1),
            clock_skew: method.clock_skew_secs.to_string(),
            require_signed: method.require_signed.as_str().to_owned(),
            require_encryption: on(method.require_encryption),
            domains: method.domains_joined("\n"),
            attr_email: method.attr_email.clone().unwrap_or_default(),
            attr_first_name: method.attr_first_name.clone().unwrap_or_default(),
            attr_last_name: method.attr_last_name.clone().unwrap_or_default(),
        }
    }

    /// The change it asks for, or what is wrong with it.
    fn change(&self) -> Result<(SettingsChange, Vec<EmailDomain>), ActionError> {
        let skew = self.clock_skew.trim().parse::<i32>().map_err(|_| {
            ActionError::Invalid(format!(
                "'{}' is not a number of seconds for the clock skew",
                self.clock_skew.trim()
            ))
        })?;
        let require_signed = RequireSigned::parse(&self.require_signed).ok_or_else(|| {
            ActionError::Invalid("choose which element must be signed".to_owned())
        })?;
        let attr = |v: &str| Some(Some(v.trim().to_owned()).filter(|n| !n.is_empty()));
        let change = SettingsChange {
            jit: Some(self.jit.is_some()),
            idp_initiated: Some(self.idp_initiated.is_some()),
            clock_skew_secs: Some(skew),
            sign_requests: Some(self.sign_requests.is_some()),
            allow_sha1: Some(self.allow_sha1.is_some()),
            require_signed: Some(require_signed),
            require_encryption: Some(self.require_encryption.is_some()),
            attr_email: attr(&self.attr_email),
            attr_first_name: attr(&self.attr_first_name),
            attr_last_name: attr(&self.attr_last_name),
        };
        Ok((change, actions::parse_domains(&self.domains)?))
    }
}

#[derive(Template)]
#[template(path = "console/sso.html")]
struct SsoPage<'a> {
    chrome: Chrome,
    method: &'a SsoMethod,
    urls: SpUrls,
    settings: SettingsForm,
    pasted: &'a str,
    /// One sentence per IdP certificate that expires soon or has.
    warnings: Vec<String>,
    /// The identity providers of the metadata just uploaded, when it describes several.
    entities: &'a [String],
    /// The applications IdP-initiated sign-ins can go to: granted the method's node, with an
    /// initiate-login URI (client id, name, whether it is the method's default).
    apps: Vec<(String, String, bool)>,
}

/// The applications that can be the method's default one.
fn default_app_choices(
    method: &SsoMethod,
    all: &[idgate_store::apps::App],
) -> Vec<(String, String, bool)> {
    all.iter()
        .filter(|a| a.grants(method.node_id) && a.initiate_login_uri.is_some())
        .map(|a| {
            (
                a.client_id.to_string(),
                a.name.clone(),
                method.default_app_id.as_ref() == Some(&a.client_id),
            )
        })
        .collect()
}

async fn load_with_apps(
    store: &Store,
    sso_id: SsoId,
) -> Result<Option<(SsoMethod, Vec<idgate_store::apps::App>)>, idgate_store::StorageError> {
    store
        .run(move |c| {
            let Some(method) = sso::get(c, sso_id)? else {
                return Ok(None);
            };
            Ok(Some((method, idgate_store::apps::list(c)?)))
        })
        .await
}

/// What the method's page shows besides the method: messages, the forms' values, the status.
struct Shown<'a> {
    chrome: Chrome,
    settings: Option<SettingsForm>,
    pasted: &'a str,
    entities: &'a [String],
    status: StatusCode,
}

/// The method's page with the given messages and forms; 404 when it does not exist.
async fn page(
    admin: &Admin,
    store: &Store,
    config: &Config,
    sso_id: SsoId,
    shown: Shown<'_>,
) -> HttpResponse {
    match load_with_apps(store, sso_id).await {
        Ok(Some((method, apps))) => with_status(
            render(&SsoPage {
                apps: default_app_choices(&method, &apps),
                chrome: shown.chrome,
                urls: SpUrls::of(&config.base_url, &method),
                settings: shown.settings.unwrap_or_else(|| SettingsForm::of(&method)),
                warnings: crate::certificates::warnings(&method.idp_certs, chrono::Utc::now()),
                method: &method,
                pasted: shown.pasted,
                entities: shown.entities,
            }),
            shown.status,
        ),
        Ok(None) => admin.not_found(&format!("There is no SSO method with id {sso_id}.")),
        Err(err) => unavailable(&err),
    }
}

pub async fn show(
    admin: Admin,
    store: web::Data<Store>,
    config: web::Data<Config>,
    path: web::Path<SsoId>,
    query: web::Query<Done>,
) -> HttpResponse {
    let chrome = admin.chrome(notice(query.done.as_deref()), None);
    page(
        &admin,
        &store,
        &config,
        *path,
        Shown {
            chrome,
            settings: None,
            pasted: "",
            entities: &[],
            status: StatusCode::OK,
        },
    )
    .await
}

/// The fields of the metadata upload form, and what went wrong reading it.
#[derive(Debug, Default)]
struct Upload {
    csrf: String,
    file: String,
    pasted: String,
    /// The identity provider chosen among several.
    entity_id: String,
    /// Why the upload could not be read whole (the fields read before it are kept: the CSRF
    /// token comes first, so the admin hears the reason rather than "the form expired").
    problem: Option<String>,
}

/// Reads the multipart upload, bounded in size.
async fn read_upload(mut payload: Multipart) -> Upload {
    let mut upload = Upload::default();
    let mut total = 0usize;
    while let Some(field) = payload.next().await {
        let mut field = match field {
            Ok(field) => field,
            Err(e) => {
                upload.problem = Some(format!("the upload could not be read: {e}"));
                return upload;
            }
        };
        let name = field.name().unwrap_or_default().to_owned();
        let mut bytes = Vec::new();
        while let Some(chunk) = field.next().await {
            let chunk = match chunk {
                Ok(chunk) => chunk,
                Err(e) => {
                    upload.problem = Some(format!("the upload could not be read: {e}"));
                    return upload;
                }
            };
            total += chunk.len();
            if total > MAX_UPLOAD {
                upload.problem = Some(format!(
                    "the upload is larger than {} KiB; is it the IdP's metadata?",
                    MAX_UPLOAD / 1024
                ));
                return upload;
            }
            bytes.extend_from_slice(&chunk);
        }
        let Ok(text) = String::from_utf8(bytes) else {
            upload.problem = Some("the metadata is not UTF-8 text; is it an XML file?".to_owned());
            return upload;
        };
        match name.as_str() {
            "csrf" => upload.csrf = text,
            "metadata_file" => upload.file = text,
            "metadata_xml" => upload.pasted = text,
            "entity_id" => upload.entity_id = text,
            _ => {}
        }
    }
    upload
}

pub async fn import_idp(
    admin: Admin,
    store: web::Data<Store>,
    config: web::Data<Config>,
    path: web::Path<SsoId>,
    payload: Multipart,
) -> HttpResponse {
    let sso_id = *path;
    let upload = read_upload(payload).await;
    if let Some(response) = admin.csrf_refusal(&upload.csrf) {
        return response;
    }
    let again = |why: &str, pasted: String, entities: Vec<String>| {
        let chrome = admin.chrome(None, Some(why));
        let (admin, store, config) = (&admin, &store, &config);
        async move {
            page(
                admin,
                store,
                config,
                sso_id,
                Shown {
                    chrome,
                    settings: None,
                    pasted: &pasted,
                    entities: &entities,
                    status: StatusCode::BAD_REQUEST,
                },
            )
            .await
        }
    };
    if let Some(why) = &upload.problem {
        return again(&format!("Not imported: {why}."), String::new(), Vec::new()).await;
    }
    let xml = if upload.file.trim().is_empty() {
        upload.pasted.trim()
    } else {
        upload.file.trim()
    };
    if xml.is_empty() {
        return again(
            "Choose the IdP metadata file, or paste its XML, then import.",
            String::new(),
            Vec::new(),
        )
        .await;
    }
    let entity_id = Some(upload.entity_id.as_str()).filter(|id| !id.trim().is_empty());
    match actions::import_idp(&store, &admin.actor, sso_id, xml, entity_id).await {
        Ok(_) => see_other(&format!("/console/sso/{sso_id}?done=idp-imported")),
        Err(ActionError::Invalid(why)) => {
            // Several identity providers: the second step keeps the document in the text box
            // and offers their entity ids to choose from.
            let entities = idgate_saml::idp::identity_provider_ids(xml);
            if entities.len() > 1 {
                again(&format!("Not imported: {why}."), xml.to_owned(), entities).await
            } else {
                again(
                    &format!("Not imported: {why}."),
                    upload.pasted.clone(),
                    Vec::new(),
                )
                .await
            }
        }
        Err(err) => admin.failed(&err),
    }
}

pub async fn settings(
    admin: Admin,
    store: web::Data<Store>,
    config: web::Data<Config>,
    path: web::Path<SsoId>,
    form: web::Form<SettingsForm>,
) -> HttpResponse {
    let sso_id = *path;
    let form = form.into_inner();
    if let Some(response) = admin.csrf_refusal(&form.csrf) {
        return response;
    }
    let result = match form.change() {
        Ok((change, domains)) => {
            actions::update_sso(&store, &admin.actor, sso_id, change, Some(domains)).await
        }
        Err(err) => Err(err),
    };
    match result {
        Ok(()) => see_other(&format!("/console/sso/{sso_id}?done=saved#settings")),
        Err(ActionError::Invalid(why)) => {
            let chrome = admin.chrome(None, Some(&format!("Not saved: {why}.")));
            page(
                &admin,
                &store,
                &config,
                sso_id,
                Shown {
                    chrome,
                    settings: Some(form),
                    pasted: "",
                    entities: &[],
                    status: StatusCode::BAD_REQUEST,
                },
            )
            .await
        }
        Err(err) => admin.failed(&err),
    }
}

/// The default application form: a client id, or empty for none.
#[derive(Debug, Deserialize)]
pub struct DefaultAppForm {
    csrf: String,
    #[serde(default)]
    client_id: String,
}

pub async fn default_app(
    admin: Admin,
    store: web::Data<Store>,
    config: web::Data<Config>,
    path: web::Path<SsoId>,
    form: web::Form<DefaultAppForm>,
) -> HttpResponse {
    let sso_id = *path;
    if let Some(response) = admin.csrf_refusal(&form.csrf) {
        return response;
    }
    let choice = form.client_id.trim();
    let result = if choice.is_empty() {
        actions::set_default_app(&store, &admin.actor, sso_id, None).await
    } else {
        match choice.parse() {
            Ok(client_id) => {
                actions::set_default_app(&store, &admin.actor, sso_id, Some(client_id)).await
            }
            Err(why) => Err(ActionError::Invalid(why)),
        }
    };
    match result {
        Ok(()) => see_other(&format!("/console/sso/{sso_id}?done=saved#default-app")),
        Err(ActionError::Invalid(why) | ActionError::NotFound(why)) => {
            refused(
                &admin,
                &store,
                &config,
                sso_id,
                &format!("Not saved: {why}."),
            )
            .await
        }
        Err(err) => admin.failed(&err),
    }
}

/// The method's page again, with `alert` saying why nothing changed (400).
async fn refused(
    admin: &Admin,
    store: &Store,
    config: &Config,
    sso_id: SsoId,
    alert: &str,
) -> HttpResponse {
    let chrome = admin.chrome(None, Some(alert));
    page(
        admin,
        store,
        config,
        sso_id,
        Shown {
            chrome,
            settings: None,
            pasted: "",
            entities: &[],
            status: StatusCode::BAD_REQUEST,
        },
    )
    .await
}

pub async fn rotate(
    admin: Admin,
    store: web::Data<Store>,
    path: web::Path<SsoId>,
    form: web::Form<ConfirmForm>,
) -> HttpResponse {
    let sso_id = *path;
    if let Some(response) = admin.csrf_refusal(&form.csrf) {
        return response;
    }
    match actions::rotate_sp_cert(&store, &admin.actor, sso_id).await {
        Ok(()) => see_other(&format!("/console/sso/{sso_id}?done=rotated")),
        Err(err) => admin.failed(&err),
    }
}

pub async fn delete(
    admin: Admin,
    store: web::Data<Store>,
    config: web::Data<Config>,
    path: web::Path<SsoId>,
    form: web::Form<ConfirmForm>,
) -> HttpResponse {
    let sso_id = *path;
    if let Some(response) = admin.csrf_refusal(&form.csrf) {
        return response;
    }
    if form.confirm.is_none() {
        return refused(
            &admin,
            &store,
            &config,
            sso_id,
            "Not deleted: tick the box to confirm that sign-in through this method stops.",
        )
        .await;
    }
    match actions::delete_sso(&store, &admin.actor, sso_id).await {
        Ok(node) => see_other(&format!("/console/nodes/{node}?done=sso-deleted")),
        Err(err) => admin.failed(&err),
    }
}
