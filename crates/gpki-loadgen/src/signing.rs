//! `--id-token-alg ES256|RS256`: the demo client's ID token algorithm, set before the
//! scenarios run the way a school's GM would set it, through the admin API under the standard
//! client metadata name `id_token_signed_response_alg`. The demo client may take a
//! client_credentials token with the `admin` scope (the demo seeds it so), which is the token
//! used here. A token response then costs one signature of that algorithm.

use base64::Engine;
use serde_json::Value;

use crate::flows::Target;
use crate::server::Server;

type Result<T> = std::result::Result<T, String>;

/// The algorithms a client may ask for.
pub const ALGS: [&str; 2] = ["RS256", "ES256"];

/// Sets the demo client's `id_token_signed_response_alg` to `alg`; checks the answer.
pub async fn set_demo_client_alg(server: &Server, alg: &str) -> Result<()> {
    if !ALGS.contains(&alg) {
        return Err(format!(
            "--id-token-alg: {} (not `{alg}`)",
            ALGS.join(" or ")
        ));
    }
    let target = Target::demo();
    let http = reqwest::Client::new();
    let token = admin_token(&http, server, &target).await?;
    let url = format!(
        "{}/admin/v1/schools/{}/clients/{}",
        server.base, target.school, target.client
    );
    let current = answer(http.get(&url).bearer_auth(&token).send().await).await?;
    let etag = current["etag"].as_str().ok_or("no etag")?.to_string();
    let body = settings_with_alg(current, alg)?;
    let put = http
        .put(&url)
        .bearer_auth(&token)
        .header("If-Match", etag)
        .json(&body);
    let changed = answer(put.send().await).await?;
    if changed["id_token_signed_response_alg"] != alg {
        return Err(format!("the client answers {changed}"));
    }
    Ok(())
}

/// The client's settings as a PUT body: the answer without what it adds (the tag, the
/// alias), the algorithm by its standard name.
fn settings_with_alg(mut client: Value, alg: &str) -> Result<Value> {
    let fields = client
        .as_object_mut()
        .ok_or("the client is not an object")?;
    fields.remove("etag");
    fields.remove("id_token_alg");
    fields.insert("id_token_signed_response_alg".into(), alg.into());
    Ok(client)
}

/// A client_credentials token of the demo client with the `admin` scope.
async fn admin_token(http: &reqwest::Client, server: &Server, target: &Target) -> Result<String> {
    let request = http
        .post(format!("{}/schools/{}/token", server.base, target.school))
        .basic_auth(&target.client, Some(&target.secret))
        .form(&[("grant_type", "client_credentials"), ("scope", "admin")]);
    let tokens = answer(request.send().await).await?;
    tokens["access_token"]
        .as_str()
        .map(str::to_string)
        .ok_or(format!("token: {tokens}"))
}

/// The JSON of a successful answer; the status and body of any other.
async fn answer(sent: reqwest::Result<reqwest::Response>) -> Result<Value> {
    let r = sent.map_err(|e| e.to_string())?;
    let status = r.status();
    let body: Value = r.json().await.map_err(|e| e.to_string())?;
    if status.is_success() {
        Ok(body)
    } else {
        Err(format!("{status} {body}"))
    }
}

/// The `alg` in a compact JWS's header.
pub fn alg_of(jwt: &str) -> Result<String> {
    let header = jwt.split('.').next().unwrap_or_default();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header)
        .map_err(|e| format!("ID token header: {e}"))?;
    let header: Value = serde_json::from_slice(&bytes).map_err(|e| e.to_string())?;
    header["alg"]
        .as_str()
        .map(str::to_string)
        .ok_or(format!("no alg in {header}"))
}
