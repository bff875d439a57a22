//! A school's look on its pages (its GM sets it): a colour and a logo. The colour carries
//! white text on buttons and the header, so it must be dark enough for WCAG 2.1 AA (4.5:1);
//! the logo is a small PNG or JPEG, checked by its first bytes, never SVG (a script could hide
//! in it).

use serde::Deserialize;
use serde_json::{json, Value};

use super::{invalid, Principal};
use crate::audit::Audit;
use crate::error::Error;
use crate::model::{Branding, School};
use crate::oidc::Provider;

/// Largest logo accepted.
pub const MAX_LOGO_BYTES: usize = 100 * 1024;
/// WCAG 2.1 AA for normal text.
const MIN_CONTRAST: f64 = 4.5;

/// `PUT …/branding`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColourInput {
    /// `#rrggbb`, or null to go back to the default.
    pub colour: Option<String>,
}

/// The branding as the admin API shows it.
pub fn branding_json(school: &School, b: &Branding) -> Value {
    json!({
        "school": school.code,
        "colour": b.colour,
        "logo": b.logo_type.as_ref().map(|t| json!({
            "content_type": t,
            "url": format!("/schools/{}/logo?v={}", school.code, b.updated_at),
        })),
    })
}

/// `#rrggbb` as (r, g, b).
fn parse_colour(text: &str) -> Option<[u8; 3]> {
    // Exactly six ASCII hex digits: `from_str_radix` alone would take a sign (`#+f+f+f`).
    let hex = text
        .strip_prefix('#')
        .filter(|h| h.len() == 6 && h.bytes().all(|b| b.is_ascii_hexdigit()))?;
    let byte = |i: usize| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok();
    Some([byte(0)?, byte(2)?, byte(4)?])
}

/// WCAG relative luminance.
fn luminance([r, g, b]: [u8; 3]) -> f64 {
    let channel = |c: u8| {
        let c = f64::from(c) / 255.0;
        if c <= 0.03928 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    };
    0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)
}

/// The contrast ratio of white text on `colour`.
pub fn contrast_with_white(colour: [u8; 3]) -> f64 {
    1.05 / (luminance(colour) + 0.05)
}

/// A colour a page may use: `#rrggbb`, lower-cased, with white text readable on it.
pub fn check_colour(text: &str) -> Result<String, Error> {
    let rgb = parse_colour(text).ok_or_else(|| invalid("colour: #rrggbb"))?;
    if contrast_with_white(rgb) < MIN_CONTRAST {
        return Err(invalid(
            "colour: too light for white text (contrast under 4.5:1, WCAG 2.1 AA); pick a darker one",
        ));
    }
    Ok(text.to_ascii_lowercase())
}

/// The content type of a logo, from its first bytes (whatever the request claimed).
pub fn logo_type(bytes: &[u8]) -> Result<&'static str, Error> {
    if bytes.len() > MAX_LOGO_BYTES {
        return Err(Error::payload_too_large("the logo is over 100 KiB"));
    }
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Ok("image/png")
    } else if bytes.starts_with(&[0xff, 0xd8, 0xff]) {
        Ok("image/jpeg")
    } else {
        Err(Error::unsupported_media_type(
            "the logo must be a PNG or JPEG image",
        ))
    }
}

impl Provider {
    /// The school's branding as the admin API shows it.
    pub async fn admin_branding(&self, school: &School) -> Result<Value, Error> {
        let b = self.directory.branding(school.id).await?;
        Ok(branding_json(school, &b))
    }

    /// The school's logo for its pages: content type and bytes, or `not_found`.
    pub async fn school_logo(&self, school: &School) -> Result<(String, Vec<u8>), Error> {
        self.directory
            .logo(school.id)
            .await?
            .ok_or_else(|| Error::not_found("this school has no logo"))
    }

    /// Sets or removes (`None`) the school's colour, with its audit event.
    pub async fn admin_set_colour(
        &self,
        who: &Principal,
        school: &School,
        colour: Option<&str>,
    ) -> Result<Branding, Error> {
        let colour = colour.map(check_colour).transpose()?;
        let audit = self.branding_change(who, school).await?;
        let after = self
            .directory
            .set_brand_colour(school.id, colour, audit)
            .await?;
        self.forget_school(&school.code);
        Ok(after)
    }

    /// Sets or removes (`None`) the school's logo, with its audit event (its type and size,
    /// not bytes).
    pub async fn admin_set_logo(
        &self,
        who: &Principal,
        school: &School,
        logo: Option<Vec<u8>>,
    ) -> Result<Branding, Error> {
        let logo = match logo {
            Some(bytes) => Some((logo_type(&bytes)?.to_string(), bytes)),
            None => None,
        };
        let audit = self.branding_change(who, school).await?;
        let after = self.directory.set_logo(school.id, logo, audit).await?;
        self.forget_school(&school.code);
        Ok(after)
    }

    /// The audit of a branding change: the branding as it is now, and as it will be.
    async fn branding_change(
        &self,
        who: &Principal,
        school: &School,
    ) -> Result<Audit<Branding>, Error> {
        let before = branding_json(school, &self.directory.branding(school.id).await?);
        let change = who.change(school.id, "school.branding");
        let school = school.clone();
        Ok(Audit::of(move |after: &Branding| {
            change.with(before, branding_json(&school, after))
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_colour_is_exactly_six_hex_digits() {
        for bad in [
            "#+f+f+f",
            "#-1-1-1",
            "#12345",
            "#1234567",
            "123456",
            "#12 456",
            "#１２３４５６",
        ] {
            assert!(check_colour(bad).is_err(), "{bad}");
        }
        assert_eq!(check_colour("#1A2B3C").unwrap(), "#1a2b3c");
    }

    #[test]
    fn colours_must_carry_white_text() {
        assert_eq!(check_colour("#1F4E8C").unwrap(), "#1f4e8c");
        assert!(
            check_colour("#ffcc00").is_err(),
            "yellow: white text unreadable"
        );
        assert!(
            check_colour("#767676").is_ok(),
            "the lightest grey that passes"
        );
        assert!(check_colour("#777777").is_err());
        for bad in [
            "1f4e8c",
            "#1f4e8",
            "#1f4e8cc",
            "#gggggg",
            "#１２３４５６",
            "",
        ] {
            assert!(check_colour(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn logos_are_png_or_jpeg_by_their_bytes() {
        assert_eq!(logo_type(b"\x89PNG\r\n\x1a\nrest").unwrap(), "image/png");
        assert_eq!(logo_type(&[0xff, 0xd8, 0xff, 0xe0]).unwrap(), "image/jpeg");
        assert_eq!(
            logo_type(b"<svg onload=alert(1)>").unwrap_err().code,
            crate::code::Code::UnsupportedMediaType
        );
        let huge = [b"\x89PNG\r\n\x1a\n".as_slice(), &[0u8; MAX_LOGO_BYTES]].concat();
        assert_eq!(
            logo_type(&huge).unwrap_err().code,
            crate::code::Code::PayloadTooLarge
        );
    }
}
