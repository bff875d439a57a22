//! The pages escape what they show and keep what the scripts and tests read.

use actix_web::body::MessageBody;
use actix_web::HttpResponse;
use gpki_idp_core::error::Error;
use gpki_idp_core::model::{Branding, School};

use super::*;

fn school(name: &str, colour: Option<&str>) -> School {
    School {
        id: 1,
        code: "demo".into(),
        name: name.into(),
        disabled: false,
        district: false,
        branding: Branding {
            colour: colour.map(str::to_string),
            logo_type: Some("image/png".into()),
            updated_at: 7,
        },
    }
}

fn body(response: HttpResponse) -> String {
    let bytes = response
        .into_body()
        .try_into_bytes()
        .expect("an in-memory body");
    String::from_utf8(bytes.to_vec()).expect("UTF-8")
}

fn login_page(school: &School, hint: &str, locale: Option<&str>) -> String {
    body(login(&LoginPage {
        school,
        request_id: "r\"1",
        csrf: "c<1>",
        login_hint: Some(hint),
        error: Some(&gpki_idp_core::code::Code::InvalidCredentials.message()),
        notice: None,
        step: Some("card"),
        locale,
        component_origin: "http://127.0.0.1:61161",
        redirect_uri: "https://rp.example/cb",
    }))
}

#[test]
fn what_a_page_shows_is_escaped() {
    let s = school("<script>alert('x')</script> & Co", Some("#123456"));
    let html = login_page(&s, "\"><img src=x>", None);
    assert!(!html.contains("<script>alert"), "{html}");
    assert!(!html.contains("<img src=x>"), "{html}");
    // askama writes character references in their numeric form.
    assert!(html.contains("&#60;script&#62;alert(&#39;x&#39;)&#60;/script&#62; &#38; Co"));
    assert!(html.contains("data-req=\"r&#34;1\" data-csrf=\"c&#60;1&#62;\" data-step=\"card\""));
    let e = Error::invalid_request("<b>bold</b>");
    let html = body(error_page(&e, None));
    assert!(
        html.contains("<p lang=\"en\">&#60;b&#62;bold&#60;/b&#62;</p>"),
        "{html}"
    );
}

#[test]
fn a_colour_that_is_not_rrggbb_stays_out_of_the_style() {
    let s = school("示範國小", Some("red}</style><script>"));
    assert!(!login_page(&s, "", None).contains("<style>"));
    let s = school("示範國小", Some("#123456"));
    assert!(login_page(&s, "", None).contains("<style>:root{--brand:#123456}</style>"));
}

#[test]
fn the_page_language_comes_first() {
    let s = school("示範國小", None);
    let zh = login_page(&s, "", None);
    assert!(zh.starts_with("<!doctype html><html lang=\"zh-Hant-TW\">"));
    assert!(zh.contains("<h1>登入<br><span lang=\"en\" class=\"second\">Log in</span></h1>"));
    assert!(zh.contains("href=\"/schools/demo/login?req=r%221&lang=en\""));
    let en = login_page(&s, "", Some("en zh-TW"));
    assert!(en.starts_with("<!doctype html><html lang=\"en\">"));
    assert!(
        en.contains("<h1>Log in<br><span lang=\"zh-Hant-TW\" class=\"second\">登入</span></h1>")
    );
    assert!(en.contains(">中文</a>"));
}

#[test]
fn only_pages_with_data_load_the_scripts() {
    let login = login_page(&school("示範國小", None), "", None);
    assert!(login.contains("<script src=\"/static/pages.js\"></script></body></html>"));
    let out = body(logged_out(None));
    assert!(out.contains("<body >") && !out.contains("<script"), "{out}");
}

/// Escaping is askama's default; a template could still turn it off for a value. None does.
#[test]
fn no_template_turns_escaping_off() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        for marker in ["|safe", "| safe", "escape(\"none\")", "escape = \"none\""] {
            assert!(!text.contains(marker), "{} has {marker}", path.display());
        }
    }
}
