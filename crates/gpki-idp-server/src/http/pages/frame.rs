//! What every page has around its content (`templates/layout.html`): the header with the
//! school's logo, name and colour, the language switch, the scripts and their data, and the
//! response headers, CSP first.

use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use askama::Template;
use gpki_idp_core::model::School;

/// Whether English comes first: the locale's first language is English.
pub fn english_first(locale: Option<&str>) -> bool {
    locale.is_some_and(|l| {
        l.split(' ')
            .next()
            .is_some_and(|first| first.starts_with("en"))
    })
}

/// What a page has around its content: the school in its header, the language switch, the
/// `data-*` attributes its scripts read (a page without them loads no script), and the
/// origins its CSP must allow.
#[derive(Default)]
pub struct Frame<'a> {
    /// `data-{name}` attributes of `<body>`, for the scripts.
    pub data: Vec<(&'static str, &'a str)>,
    /// The local component's origin, which the scripts call.
    pub component_origin: Option<&'a str>,
    /// Origin a form on the page may end up at (the client's redirect URI after login):
    /// browsers apply `form-action` to the redirects that follow a form post.
    pub form_target: Option<String>,
    /// This page's address without `lang`, for the language switch.
    pub lang_href: Option<String>,
    /// The school whose name, colour and logo the header shows.
    pub school: Option<&'a School>,
}

/// The language switch: a link to the same page in the other language.
pub struct Switch<'a> {
    pub href: &'a str,
    /// Whether `href` has a query already (the switch adds `&lang=`, else `?lang=`).
    pub has_query: bool,
}

/// What `layout.html` shows of a page.
pub struct Layout<'a> {
    /// English first: the page's language and the order of every text in both.
    pub en: bool,
    pub title: &'a str,
    pub school: Option<&'a School>,
    /// The school's colour for the stylesheet (checked as `#rrggbb` when set; checked again
    /// here, since it ends up inside a style element).
    pub brand: Option<&'a str>,
    pub switch: Option<Switch<'a>>,
    pub data: &'a [(&'static str, &'a str)],
}

impl<'a> Frame<'a> {
    /// The layout of a page in this frame.
    pub fn layout(&'a self, title: &'a str, locale: Option<&str>) -> Layout<'a> {
        Layout {
            en: english_first(locale),
            title,
            school: self.school,
            brand: self
                .school
                .and_then(|s| s.branding.colour.as_deref())
                .filter(|c| gpki_idp_core::admin::branding::check_colour(c).is_ok()),
            switch: self.lang_href.as_deref().map(|href| Switch {
                href,
                has_query: href.contains('?'),
            }),
            data: &self.data,
        }
    }

    /// The page's CSP: scripts and styles from here only (and the inline brand colour),
    /// the component's origin for its calls and images, forms to here or `form_target`.
    fn csp(&self) -> String {
        let component = self
            .component_origin
            .map(|o| format!(" {o}"))
            .unwrap_or_default();
        let target = self
            .form_target
            .as_deref()
            .map(|o| format!(" {o}"))
            .unwrap_or_default();
        format!(
            "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; connect-src 'self'{component}; \
             img-src 'self'{component}; frame-ancestors 'none'; form-action 'self'{target}; base-uri 'none'"
        )
    }
}

/// The response for a rendered page, with the headers every page has.
pub fn respond(status: StatusCode, frame: &Frame<'_>, page: &impl Template) -> HttpResponse {
    let Ok(doc) = page.render() else {
        // Rendering fails only if a value's Display fails; none of ours does.
        return HttpResponse::InternalServerError().finish();
    };
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header(("Cache-Control", "no-store"))
        .insert_header(("X-Frame-Options", "DENY"))
        .insert_header(("Content-Security-Policy", frame.csp()))
        .insert_header(("Referrer-Policy", "no-referrer"))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .body(doc)
}
