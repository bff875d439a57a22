//! 資訊安全 → 資安選項設定 as a page for the school's GM: the policy it saves applies at the
//! next login and is audited; a teacher, a stale page or a forged form cannot change it.

use gpki_idp_core::policy::Method;
use gpki_idp_server::demo;
use reqwest::blocking::Client as Http;

use crate::support::card::{portal, server};
use crate::support::server::OTHER_SCHOOL;
use crate::support::{block_on, browser, TestServer};

fn page_url(server: &TestServer) -> String {
    format!("{}/admin/security", server.issuer(demo::SCHOOL))
}

/// The form as the page shows it: (field, value) of the hidden fields and ticked boxes.
fn form_of(html: &str) -> Vec<(String, String)> {
    let mut fields = Vec::new();
    for tag in html.split("<input").skip(1) {
        let tag = tag.split('>').next().unwrap_or_default();
        let attr = |name: &str| {
            let marker = format!("{name}=\"");
            tag.find(&marker).map(|i| {
                tag[i + marker.len()..]
                    .split('"')
                    .next()
                    .unwrap_or_default()
                    .to_string()
            })
        };
        let Some(name) = attr("name") else { continue };
        if tag.contains("type=\"checkbox\"") {
            if tag.contains(" checked") {
                fields.push((name, "on".to_string()));
            }
        } else {
            fields.push((name, unescape(&attr("value").unwrap_or_default())));
        }
    }
    fields
}

/// What a browser makes of an attribute value.
fn unescape(value: &str) -> String {
    value
        .replace("&quot;", "\"")
        .replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&#60;", "<")
        .replace("&gt;", ">")
        .replace("&#62;", ">")
        .replace("&amp;", "&")
        .replace("&#38;", "&")
}

/// Ticks exactly `methods` for `role`.
fn set(form: &mut Vec<(String, String)>, role: &str, methods: &[Method]) {
    let index = form
        .iter()
        .find(|(k, v)| k.starts_with("role") && !k.contains('.') && v == role)
        .map(|(k, _)| k.trim_start_matches("role").to_string())
        .expect("role on the page");
    form.retain(|(k, _)| !k.starts_with(&format!("role{index}.")));
    for m in methods {
        form.push((format!("role{index}.{}", m.name()), "on".into()));
    }
}

fn open(server: &TestServer, b: &Http) -> (u16, String) {
    let r = b.get(page_url(server)).send().unwrap();
    (r.status().as_u16(), r.text().unwrap())
}

#[test]
fn the_gm_sets_the_login_methods_of_a_role() {
    let server = server();
    let gm = browser();
    portal(&server).log_in(&gm, "gm");
    let (status, html) = open(&server, &gm);
    assert_eq!(status, 200);
    assert!(html.contains("資安選項設定") && html.contains("啟用登入機制"));
    assert!(html.contains("儲存設定"));

    // Teachers: the certificate only.
    let mut form = form_of(&html);
    set(&mut form, "teacher", &[Method::Certificate]);
    let r = gm.post(page_url(&server)).form(&form).send().unwrap();
    assert_eq!(r.status(), 200);
    let saved = r.text().unwrap();
    assert!(saved.contains("設定已儲存"), "{saved}");

    let provider = &server.state.provider;
    let school = server.demo_school();
    let policy = block_on(provider.admin_policy(&school)).unwrap();
    let teacher = policy.iter().find(|p| p.role == "teacher").unwrap();
    assert_eq!(teacher.methods, [Method::Certificate]);

    // The change is audited with the GM as its actor.
    let events = block_on(provider.directory().audit_events(school.id, 0, 500)).unwrap();
    let change = events.iter().find(|e| e.event == "policy.set").unwrap();
    assert_eq!(change.actor, "gm");
    assert_eq!(change.client_id.as_deref(), Some("page:security"));

    // It applies at the next login: the teacher's password is refused now.
    let teacher_browser = browser();
    let rp = portal(&server);
    let login = rp.login_page(&teacher_browser, &[]);
    let r = rp.submit_password(&teacher_browser, &login, "teacher", demo::PASSWORD);
    assert_eq!(r.status(), 403);

    // A page shown before another administrator's change cannot overwrite it.
    let (_, html) = open(&server, &gm);
    let mut stale = form_of(&html);
    let other = vec![gpki_idp_core::policy::RolePolicy {
        role: "teacher".into(),
        methods: vec![Method::PasswordAndCertificate],
    }];
    block_on(provider.directory().replace_policy(school.id, other)).unwrap();
    set(&mut stale, "teacher", &[Method::Password]);
    let r = gm.post(page_url(&server)).form(&stale).send().unwrap();
    assert!(r.text().unwrap().contains("已被其他管理者修改"));
    let policy = block_on(provider.admin_policy(&school)).unwrap();
    let teacher = policy.iter().find(|p| p.role == "teacher").unwrap();
    assert_eq!(teacher.methods, [Method::PasswordAndCertificate]);

    // A form whose CSRF value is not this browser's is refused with a page that says so.
    let mut forged = form.clone();
    for (name, value) in forged.iter_mut() {
        if name == "csrf" {
            *value = "A".repeat(32);
        }
    }
    let r = gm.post(page_url(&server)).form(&forged).send().unwrap();
    assert_eq!(r.status(), 403);
    assert!(r.text().unwrap().contains("csrf_failed"));

    // A role without any method is refused and nothing is saved.
    let (_, html) = open(&server, &gm);
    let mut empty = form_of(&html);
    set(&mut empty, "staff", &[]);
    let r = gm.post(page_url(&server)).form(&empty).send().unwrap();
    assert!(r.text().unwrap().contains("至少要勾選一種登入機制"));
}

#[test]
fn only_the_schools_gm_may_open_or_post_the_page() {
    let server = server();
    // Not logged in.
    let (status, _) = open(&server, &browser());
    assert_eq!(status, 403);

    // A teacher.
    let teacher = browser();
    portal(&server).log_in(&teacher, "teacher");
    let (status, html) = open(&server, &teacher);
    assert_eq!(status, 403, "{html}");
    assert!(html.contains("只有學校管理者"));
    let r = teacher
        .post(page_url(&server))
        .form(&[("role0", "teacher"), ("role0.certificate", "on")])
        .send()
        .unwrap();
    assert_eq!(r.status(), 403);

    // The GM, but a form that did not come from the page (no CSRF value).
    let gm = browser();
    portal(&server).log_in(&gm, "gm");
    let (_, html) = open(&server, &gm);
    let mut form = form_of(&html);
    form.retain(|(k, _)| k != "csrf");
    let r = gm.post(page_url(&server)).form(&form).send().unwrap();
    assert_eq!(r.status(), 403);

    // The GM's session is the demo school's: another school's page does not know it.
    let r = gm
        .get(format!("{}/admin/security", server.issuer(OTHER_SCHOOL)))
        .send()
        .unwrap();
    assert_eq!(r.status(), 403);
}
