pub fn configure(_: &mut actix_web::web::ServiceConfig) {}
