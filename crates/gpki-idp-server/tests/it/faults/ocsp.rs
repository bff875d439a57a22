//! 6. The OCSP responder down or hanging.

use std::time::Duration;

use gpki_testpki::{LeafSpec, OcspBehaviour, RevocationServer};

use crate::support::browser;
use crate::support::card::{self, portal};
use crate::support::faults::client::Answer;
use crate::support::faults::figures::{ensure, fault_test};
use crate::support::faults::flows::card_login;
use crate::support::faults::{time_until, Rig};

const OCSP_TIMEOUT_MS: u64 = 2000;

fn card_login_succeeded(a: &Answer) -> bool {
    a.status() == Some(200)
        && a.body()["redirect"]
            .as_str()
            .is_some_and(|r| r.contains("code="))
}

#[test]
fn ocsp_responder_down_or_hanging() {
    fault_test("ocsp_responder_down_or_hanging", |fig| {
        let p = card::pki();
        // A responder of this test alone, so other tests' settings never mix in.
        let responder = RevocationServer::start(&p.pki, &p.pki.moica);
        let leaf = p.pki.issue_leaf(&LeafSpec {
            serial: 0xfa17,
            ocsp_url: Some(responder.ocsp_url()),
            ..LeafSpec::default()
        });
        let dir = p.dir.clone();
        let rig = Rig::start(move |c| {
            c.certificate.trust_anchors = vec![dir.join("grca.pem")];
            c.certificate.intermediates = vec![dir.join("moica.pem")];
            c.certificate.revocation.mode = "ocsp".into();
            c.certificate.revocation.ocsp_cache_ttl_secs = 0;
            c.certificate.revocation.stale_if_error_secs = 0;
            c.certificate.revocation.fetch_timeout_ms = OCSP_TIMEOUT_MS;
        });
        let issuer = rig.issuer();
        let b = browser();
        let csrf = card::password_login(rig.server(), &b);
        let (status, body) = card::register(&portal(rig.server()), &b, &csrf, &leaf);
        ensure(status == 201, || format!("registration: {status} {body}"))?;
        let first = card_login(&issuer, &leaf);
        fig.count(&first);
        ensure(card_login_succeeded(&first), || {
            format!("card login with the responder up: {first:?}")
        })?;

        let bound = Duration::from_millis(OCSP_TIMEOUT_MS) + Duration::from_secs(3);
        let mut wrong = 0;
        let mut problems = Vec::new();
        for (name, behaviour) in [
            (
                "down",
                OcspBehaviour {
                    down: true,
                    ..OcspBehaviour::default()
                },
            ),
            (
                "hanging",
                OcspBehaviour {
                    delay: Duration::from_millis(OCSP_TIMEOUT_MS + 1500),
                    ..OcspBehaviour::default()
                },
            ),
        ] {
            responder.set_ocsp(behaviour);
            let a = card_login(&issuer, &leaf);
            fig.count(&a);
            fig.note(&format!("{name}_ms"), a.elapsed().as_millis() as u64);
            fig.note(&format!("{name}_answer"), a.body().clone());
            if card_login_succeeded(&a) {
                wrong += 1;
            }
            if a.error() != Some("revocation_unavailable") || a.elapsed() > bound {
                problems.push(format!(
                    "responder {name}: expected error revocation_unavailable within {bound:?}, got {a:?}"
                ));
            }
        }
        fig.wrong_logins_accepted = Some(wrong);

        responder.set_ocsp(OcspBehaviour::default());
        let back = time_until(Duration::from_secs(20), || {
            let a = card_login(&issuer, &leaf);
            fig.count(&a);
            card_login_succeeded(&a)
        });
        fig.recovery_ms = back.map(|d| d.as_millis());
        if back.is_none() {
            problems.push("no card login within 20 s after the responder came back".into());
        }
        fig.note("ocsp_hits", responder.ocsp_hits() as u64);
        ensure(problems.is_empty(), || problems.join("\n"))
    });
}

// ---------------------------------------------------------------------------------------------
