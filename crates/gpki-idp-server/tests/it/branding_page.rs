//! 學校識別設定 as a page for the school's GM: the colour and logo it saves show on the school's
//! pages at once and are audited; a light colour, an SVG, a teacher or a forged form change
//! nothing.

use gpki_idp_server::demo;
use reqwest::blocking::multipart::{Form, Part};
use reqwest::blocking::Client as Http;

use crate::support::card::{portal, server};
use crate::support::{block_on, browser, TestServer};

fn page_url(server: &TestServer) -> String {
    format!("{}/admin/branding", server.issuer(demo::SCHOOL))
}

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n-a-tiny-logo";

/// Posts the page's form; returns the status and the page.
fn save(
    server: &TestServer,
    b: &Http,
    csrf: &str,
    colour: &str,
    logo: Option<&[u8]>,
) -> (u16, String) {
    let mut form = Form::new()
        .text("csrf", csrf.to_string())
        .text("colour", colour.to_string());
    if let Some(bytes) = logo {
        let part = Part::bytes(bytes.to_vec())
            .file_name("logo.png")
            .mime_str("image/png")
            .unwrap();
        form = form.part("logo", part);
    }
    let r = b.post(page_url(server)).multipart(form).send().unwrap();
    (r.status().as_u16(), r.text().unwrap())
}

#[test]
fn the_gm_sets_the_schools_colour_and_logo() {
    let server = server();
    let gm = browser();
    let csrf = portal(&server).log_in(&gm, "gm");
    let page = gm.get(page_url(&server)).send().unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().unwrap().contains("學校識別設定"));

    let (status, html) = save(&server, &gm, &csrf, "#0b5d1e", Some(PNG));
    assert_eq!(status, 200);
    assert!(html.contains("設定已儲存"), "{html}");
    assert!(
        html.contains("--brand:#0b5d1e"),
        "the page wears the new colour at once"
    );
    let logo_src = html
        .split("class=\"logo-preview\" src=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    let logo = gm.get(format!("{}{logo_src}", server.base)).send().unwrap();
    assert_eq!(logo.bytes().unwrap().as_ref(), PNG);

    // A colour white text cannot be read on, and an SVG: refused, with the reason.
    let (_, html) = save(&server, &gm, &csrf, "#ffee88", None);
    assert!(
        html.contains("設定未儲存") && html.contains("contrast"),
        "{html}"
    );
    let svg = b"<svg xmlns='http://www.w3.org/2000/svg'/>";
    let (_, html) = save(&server, &gm, &csrf, "#0b5d1e", Some(svg));
    assert!(html.contains("PNG or JPEG"), "{html}");

    // A forged form and a teacher change nothing.
    let (status, _) = save(&server, &gm, &"A".repeat(32), "#222222", None);
    assert_eq!(status, 403);
    let teacher = browser();
    let teacher_csrf = portal(&server).log_in(&teacher, "teacher");
    assert_eq!(teacher.get(page_url(&server)).send().unwrap().status(), 403);
    assert_eq!(
        save(&server, &teacher, &teacher_csrf, "#222222", None).0,
        403
    );

    let provider = &server.state.provider;
    let school = server.demo_school();
    assert_eq!(school.branding.colour.as_deref(), Some("#0b5d1e"));
    let events = block_on(provider.directory().audit_events(school.id, 0, 1000)).unwrap();
    let by_gm: Vec<_> = events
        .iter()
        .filter(|e| e.event == "school.branding")
        .map(|e| (e.actor.as_str(), e.client_id.as_deref()))
        .collect();
    assert_eq!(
        by_gm,
        [("gm", Some("page:branding")), ("gm", Some("page:branding"))],
        "colour and logo, audited"
    );
}
