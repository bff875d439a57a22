//! A district's list of schools as sent (CSV or JSON): one school per row with, when named,
//! its first GM. A bad header or body refuses the whole list; a bad row is reported with its
//! number and a stable code, for the onboarding report.

use std::collections::HashSet;

use serde::Deserialize;
use serde_json::Value;

use super::invalid;
use super::upload::{check_size, Upload};
use crate::error::Error;

/// Most schools one list may carry.
pub const MAX_ONBOARD_ROWS: usize = 1000;
/// Largest list: 1,000 schools of a few hundred bytes each.
pub const MAX_LIST_BYTES: usize = 1024 * 1024;

/// One row of the list, as read.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OnboardRow {
    pub code: String,
    pub name: String,
    #[serde(default)]
    pub gm_username: Option<String>,
    #[serde(default)]
    pub gm_name: Option<String>,
}

/// A row that could not be read: (row, code, error code, message).
pub type RowError = (usize, String, &'static str, String);

#[derive(Clone, Copy, PartialEq, Eq)]
enum Column {
    Code,
    Name,
    GmUsername,
    GmName,
}

fn column(header: &str) -> Option<Column> {
    match header {
        "code" | "school_code" | "學校代碼" => Some(Column::Code),
        "name" | "school_name" | "學校名稱" => Some(Column::Name),
        "gm_username" => Some(Column::GmUsername),
        "gm_name" => Some(Column::GmName),
        _ => None,
    }
}

fn columns(header: &csv::StringRecord) -> Result<Vec<Column>, Error> {
    let wanted = "the CSV header names the columns code,name[,gm_username,gm_name] (any order)";
    let cols: Vec<Column> = header
        .iter()
        .map(|h| column(&h.to_lowercase()))
        .collect::<Option<_>>()
        .ok_or_else(|| invalid(wanted))?;
    let unique: HashSet<_> = cols.iter().map(|c| *c as u8).collect();
    if unique.len() != cols.len() || !cols.contains(&Column::Code) || !cols.contains(&Column::Name)
    {
        return Err(invalid(wanted));
    }
    Ok(cols)
}

/// Reads the list as CSV: a header naming the columns, then one school per line. A bad
/// header refuses the file; a bad line is reported.
pub fn parse_csv(text: &str) -> Result<Vec<Result<OnboardRow, RowError>>, Error> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    let header = reader
        .headers()
        .map_err(|_| invalid("the CSV has no readable header line"))?;
    let cols = columns(header)?;
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        if i >= MAX_ONBOARD_ROWS {
            return Err(invalid(format!("at most {MAX_ONBOARD_ROWS} schools")));
        }
        rows.push(csv_row(i + 1, record, &cols));
    }
    Ok(rows)
}

fn csv_row(
    row: usize,
    record: Result<csv::StringRecord, csv::Error>,
    cols: &[Column],
) -> Result<OnboardRow, RowError> {
    let record = record.map_err(|e| (row, String::new(), "unreadable_row", e.to_string()))?;
    let field = |c: Column| {
        let i = cols.iter().position(|x| *x == c)?;
        Some(record.get(i).unwrap_or_default().to_string()).filter(|v| !v.is_empty())
    };
    let code = field(Column::Code).unwrap_or_default();
    if record.len() != cols.len() {
        let why = format!("expected {} columns, found {}", cols.len(), record.len());
        return Err((row, code, "wrong_column_count", why));
    }
    Ok(OnboardRow {
        code,
        name: field(Column::Name).unwrap_or_default(),
        gm_username: field(Column::GmUsername),
        gm_name: field(Column::GmName),
    })
}

/// Reads the list as JSON: an array of `{code, name, gm_username?, gm_name?}`.
pub fn parse_json(body: &[u8]) -> Result<Vec<Result<OnboardRow, RowError>>, Error> {
    let items: Vec<Value> =
        serde_json::from_slice(body).map_err(|_| invalid("the body must be a JSON array"))?;
    if items.len() > MAX_ONBOARD_ROWS {
        return Err(invalid(format!("at most {MAX_ONBOARD_ROWS} schools")));
    }
    Ok(items
        .into_iter()
        .enumerate()
        .map(|(i, item)| {
            let code = item["code"].as_str().unwrap_or_default().to_string();
            serde_json::from_value::<OnboardRow>(item)
                .map_err(|e| (i + 1, code, "invalid_row", e.to_string()))
        })
        .collect())
}

/// The rows of an uploaded list: at most [`MAX_LIST_BYTES`], CSV or JSON by its media type.
pub fn read_upload(
    content_type: &str,
    body: &[u8],
) -> Result<Vec<Result<OnboardRow, RowError>>, Error> {
    check_size(body, MAX_LIST_BYTES, "the list is over 1 MiB")?;
    match Upload::read(content_type, body)? {
        Upload::Csv(text) => parse_csv(text),
        Upload::Json(bytes) => parse_json(bytes),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_headers_in_any_order_with_optional_gm() {
        let rows = parse_csv(
            "\u{feff}學校名稱,學校代碼,gm_username,gm_name\n\
             甲國小,a-es,gm.a,甲管理者\n\
             乙國小,b-es,,\n\
             only,two\n",
        )
        .unwrap();
        let a = rows[0].as_ref().unwrap();
        assert_eq!((a.code.as_str(), a.name.as_str()), ("a-es", "甲國小"));
        assert_eq!(a.gm_username.as_deref(), Some("gm.a"));
        assert_eq!(rows[1].as_ref().unwrap().gm_username, None);
        assert_eq!(rows[2].as_ref().unwrap_err().2, "wrong_column_count");
        assert!(parse_csv("code,address\n").is_err());
        assert!(parse_csv("code,code,name\n").is_err());
        assert!(parse_csv("name,gm_username\n").is_err());
        let many = format!("code,name\n{}", "x1,X\n".repeat(MAX_ONBOARD_ROWS + 1));
        assert!(parse_csv(&many).is_err());
    }

    #[test]
    fn uploads_by_media_type() {
        assert_eq!(
            read_upload("text/csv", b"code,name\na-es,A\n")
                .unwrap()
                .len(),
            1
        );
        let json = br#"[{"code": "a-es", "name": "A"}, {"code": "b", "extra": 1}]"#;
        let rows = read_upload("application/json", json).unwrap();
        assert_eq!(rows[1].as_ref().unwrap_err().2, "invalid_row");
        assert_eq!(
            read_upload("text/plain", b"").unwrap_err().code,
            crate::code::Code::UnsupportedMediaType
        );
        let big = vec![b' '; MAX_LIST_BYTES + 1];
        assert_eq!(
            read_upload("text/csv", &big).unwrap_err().code,
            crate::code::Code::PayloadTooLarge
        );
    }
}
