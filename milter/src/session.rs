//! The milter session: what the MTA tells us stage by stage, collected per message, and the
//! decision carried out at end of message.
//!
//! Everything that can go wrong here (a spool write, a parse, a policy, the crypto, an action
//! the MTA refuses) ends in a tempfail: the MTA keeps the message and retries. Nothing from
//! the MTA is trusted to be well-formed.

use std::ffi::{CStr, CString};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use indymilter::{
    Actions, Callbacks, ContextActions, EomContext, MacroStage, NegotiateContext, SetErrorReply,
    SocketInfo, Status,
};

use crate::actions::HeaderOp;
use crate::audit::{AuditLog, Record};
use crate::decision::Action;
use crate::mail::Envelope;
use crate::mail::spool::Spool;
use crate::metrics::Metrics;
use crate::pipeline::{self, Incoming, Outcome, Pipeline, RecipientOp};

/// Most headers accepted in one message.
pub const MAX_HEADERS: usize = 1000;
/// Most bytes in the header block.
pub const MAX_HEADER_BYTES: usize = 1024 * 1024;
/// Most recipients in one message.
pub const MAX_RECIPIENTS: usize = 1000;
/// How often a slow end of message tells the MTA we are still working.
const PROGRESS_EVERY: Duration = Duration::from_secs(5);

/// What every session shares.
#[derive(Debug)]
pub struct Shared {
    /// The current pipeline; a reload swaps it, messages in flight keep theirs.
    pub pipeline: RwLock<Arc<Pipeline>>,
    /// Metrics.
    pub metrics: Metrics,
    /// Audit log.
    pub audit: AuditLog,
    /// Bodies up to this size stay in memory.
    pub spool_memory_bytes: usize,
    /// Spool directory.
    pub spool_dir: Option<std::path::PathBuf>,
    /// Largest message.
    pub max_message_bytes: u64,
}

impl Shared {
    fn pipeline(&self) -> Option<Arc<Pipeline>> {
        self.pipeline.read().ok().map(|p| p.clone())
    }
}

/// Per-connection state; message fields reset at MAIL and abort.
#[derive(Debug, Default)]
pub struct Session {
    client_address: Option<String>,
    client_name: Option<String>,
    helo: Option<String>,
    message: Option<MessageState>,
}

#[derive(Debug)]
struct MessageState {
    envelope: Envelope,
    headers: Vec<(String, String)>,
    header_bytes: usize,
    spool: Option<Spool>,
    body_offset: usize,
    /// Set when something went wrong before end of message; answered at the next stage.
    failure: Option<Failure>,
}

#[derive(Debug, Clone)]
enum Failure {
    TooBig,
    TooManyHeaders,
    Spool(String),
}

fn text(s: &CStr) -> String {
    String::from_utf8_lossy(s.to_bytes()).into_owned()
}

fn strip_brackets(s: &str) -> String {
    s.trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .to_owned()
}

/// A CString that never panics: NUL bytes are dropped.
fn cstring(s: &str) -> CString {
    CString::new(s.replace('\0', "")).unwrap_or_default()
}

fn macro_value(macros: &indymilter::Macros, name: &CStr) -> Option<String> {
    macros.get(name).map(text).filter(|s| !s.is_empty())
}

/// Builds the milter callbacks over the shared state.
pub fn callbacks(shared: Arc<Shared>) -> Callbacks<Session> {
    let eom_shared = shared.clone();
    let body_shared = shared.clone();
    let eoh_shared = shared.clone();

    Callbacks::new()
        .on_negotiate(|ctx, _, _| Box::pin(negotiate(ctx)))
        .on_connect(|ctx, hostname, socket| {
            Box::pin(async move {
                let mut session = Session {
                    client_name: Some(text(&hostname)),
                    ..Session::default()
                };
                if let SocketInfo::Inet(addr) = socket {
                    session.client_address = Some(addr.ip().to_string());
                }
                ctx.data = Some(session);
                Status::Continue
            })
        })
        .on_helo(|ctx, helo| {
            Box::pin(async move {
                if let Some(s) = ctx.data.as_mut() {
                    s.helo = Some(text(&helo));
                }
                Status::Continue
            })
        })
        .on_mail(|ctx, args| {
            Box::pin(async move {
                let session = ctx.data.get_or_insert_with(Session::default);
                let sender = args
                    .first()
                    .map(|a| strip_brackets(&text(a)))
                    .unwrap_or_default();
                let envelope = Envelope {
                    sender,
                    queue_id: macro_value(&ctx.macros, c"i"),
                    client_address: session.client_address.clone(),
                    client_name: session.client_name.clone(),
                    helo: session.helo.clone(),
                    tls_version: macro_value(&ctx.macros, c"{tls_version}"),
                    auth_user: macro_value(&ctx.macros, c"{auth_authen}"),
                    ..Envelope::default()
                };
                session.message = Some(MessageState {
                    envelope,
                    headers: Vec::new(),
                    header_bytes: 0,
                    spool: None,
                    body_offset: 0,
                    failure: None,
                });
                Status::Continue
            })
        })
        .on_rcpt(|ctx, args| {
            Box::pin(async move {
                let queue_id = macro_value(&ctx.macros, c"i");
                let Some(m) = ctx.data.as_mut().and_then(|s| s.message.as_mut()) else {
                    return Status::Tempfail;
                };
                if m.envelope.queue_id.is_none() {
                    m.envelope.queue_id = queue_id;
                }
                if m.envelope.recipients.len() >= MAX_RECIPIENTS {
                    let _ =
                        ctx.reply
                            .set_error_reply("452", Some("4.5.3"), ["too many recipients"]);
                    return Status::Tempfail;
                }
                if let Some(rcpt) = args.first() {
                    m.envelope.recipients.push(strip_brackets(&text(rcpt)));
                }
                Status::Continue
            })
        })
        .on_data(|_| Box::pin(async { Status::Continue }))
        .on_header(|ctx, name, value| {
            Box::pin(async move {
                let Some(m) = ctx.data.as_mut().and_then(|s| s.message.as_mut()) else {
                    return Status::Tempfail;
                };
                if m.failure.is_some() {
                    return Status::Continue;
                }
                m.header_bytes += name.as_bytes().len() + value.as_bytes().len() + 4;
                if m.headers.len() >= MAX_HEADERS || m.header_bytes > MAX_HEADER_BYTES {
                    m.failure = Some(Failure::TooManyHeaders);
                    return Status::Continue;
                }
                m.headers.push((text(&name), text(&value)));
                Status::Continue
            })
        })
        .on_eoh(move |ctx| {
            let shared = eoh_shared.clone();
            Box::pin(async move {
                let queue_id = macro_value(&ctx.macros, c"i");
                let Some(m) = ctx.data.as_mut().and_then(|s| s.message.as_mut()) else {
                    return Status::Tempfail;
                };
                if m.envelope.queue_id.is_none() {
                    m.envelope.queue_id = queue_id;
                }
                let mut spool = Spool::new(shared.spool_memory_bytes, shared.spool_dir.clone());
                let block = pipeline::header_block(&m.headers);
                m.body_offset = block.len();
                if let Err(e) = spool.write(&block) {
                    m.failure = Some(Failure::Spool(e.to_string()));
                }
                m.spool = Some(spool);
                Status::Continue
            })
        })
        .on_body(move |ctx, chunk| {
            let shared = body_shared.clone();
            Box::pin(async move {
                let Some(m) = ctx.data.as_mut().and_then(|s| s.message.as_mut()) else {
                    return Status::Tempfail;
                };
                if m.failure.is_some() {
                    return Status::Continue;
                }
                let Some(spool) = m.spool.as_mut() else {
                    return Status::Continue;
                };
                if spool.len() + chunk.len() as u64 > shared.max_message_bytes {
                    m.failure = Some(Failure::TooBig);
                    return Status::Continue;
                }
                if let Err(e) = spool.write(&chunk) {
                    m.failure = Some(Failure::Spool(e.to_string()));
                }
                Status::Continue
            })
        })
        .on_eom(move |ctx| {
            let shared = eom_shared.clone();
            Box::pin(async move { end_of_message(ctx, shared).await })
        })
        .on_abort(|ctx| {
            Box::pin(async move {
                if let Some(s) = ctx.data.as_mut() {
                    s.message = None;
                }
                Status::Continue
            })
        })
}

async fn negotiate(ctx: &mut NegotiateContext<Session>) -> Status {
    ctx.requested_actions |= Actions::ADD_HEADER
        | Actions::CHANGE_HEADER
        | Actions::REPLACE_BODY
        | Actions::QUARANTINE
        | Actions::ADD_RCPT
        | Actions::DELETE_RCPT;
    ctx.requested_macros
        .insert(MacroStage::Mail, cstring("i {auth_authen} {tls_version}"));
    ctx.requested_macros.insert(MacroStage::Rcpt, cstring("i"));
    ctx.requested_macros.insert(MacroStage::Eoh, cstring("i"));
    ctx.requested_macros.insert(MacroStage::Eom, cstring("i"));
    Status::Continue
}

async fn end_of_message(ctx: &mut EomContext<Session>, shared: Arc<Shared>) -> Status {
    let started = Instant::now();
    let queue_id = macro_value(&ctx.macros, c"i");
    let Some(mut m) = ctx.data.as_mut().and_then(|s| s.message.take()) else {
        tracing::error!("end of message without a message in progress; tempfail");
        shared.metrics.internal_errors.inc();
        return Status::Tempfail;
    };
    if let Some(q) = queue_id {
        m.envelope.queue_id = Some(q);
    }
    let qid = m.envelope.queue_id.clone().unwrap_or_else(|| "-".into());

    // Stage failures get their answer now, with the queue id known.
    if let Some(failure) = m.failure.take() {
        let (status, code, xcode, why) = match &failure {
            Failure::TooBig => (Status::Reject, "552", "5.3.4", "message too big".to_owned()),
            Failure::TooManyHeaders => (
                Status::Reject,
                "552",
                "5.3.4",
                "too many or too large headers".to_owned(),
            ),
            Failure::Spool(e) => (
                Status::Tempfail,
                "451",
                "4.3.0",
                format!("spool error: {e}"),
            ),
        };
        let text = if matches!(failure, Failure::Spool(_)) {
            "temporary local problem, try again later"
        } else {
            why.as_str()
        };
        let _ = ctx.reply.set_error_reply(code, Some(xcode), [text]);
        let action = if status == Status::Reject {
            Action::Reject
        } else {
            Action::Tempfail
        };
        finish(
            &shared,
            action,
            Record {
                queue_id: qid,
                sender_domain: m.envelope.sender_domain(),
                recipients: m.envelope.recipients.len(),
                action: action.as_str().into(),
                reason: Some(why),
                elapsed_ms: started.elapsed().as_millis(),
                ..Record::default()
            },
        );
        return status;
    }

    let Some(pipeline) = shared.pipeline() else {
        return internal_error(ctx, &shared, &qid, "pipeline lock poisoned");
    };
    let spool = match m.spool.take() {
        Some(s) => s,
        None => {
            // No end-of-headers was seen (possible with some MTAs for empty messages).
            let mut s = Spool::new(shared.spool_memory_bytes, shared.spool_dir.clone());
            let block = pipeline::header_block(&m.headers);
            m.body_offset = block.len();
            if let Err(e) = s.write(&block) {
                return internal_error(ctx, &shared, &qid, &format!("spool error: {e}"));
            }
            s
        }
    };
    let bytes = match spool.finish() {
        Ok(b) => b,
        Err(e) => return internal_error(ctx, &shared, &qid, &format!("spool error: {e}")),
    };

    // Policies and crypto run on a blocking thread; the MTA hears progress meanwhile.
    shared.metrics.in_flight.inc();
    let envelope = m.envelope.clone();
    let headers = m.headers.clone();
    let body_offset = m.body_offset;
    let mut task = tokio::task::spawn_blocking(move || {
        let incoming = Incoming {
            envelope,
            headers,
            message: &bytes,
            body_offset,
        };
        pipeline.process(&incoming)
    });
    let result = loop {
        tokio::select! {
            r = &mut task => break r,
            _ = tokio::time::sleep(PROGRESS_EVERY) => {
                if let Err(e) = ctx.actions.progress().await {
                    tracing::warn!("{qid}: cannot send progress to the MTA: {e}");
                }
            }
        }
    };
    shared.metrics.in_flight.dec();
    let outcome = match result {
        Ok(o) => o,
        Err(e) => {
            return internal_error(
                ctx,
                &shared,
                &qid,
                &format!("message processing panicked: {e}"),
            );
        }
    };
    for r in &outcome.results {
        shared.metrics.observe_policy(r);
        if let Err((kind, why)) = &r.outcome {
            tracing::warn!("{qid}: policy {} failed ({}): {why}", r.name, kind.as_str());
        }
    }

    match carry_out(ctx, &outcome).await {
        Ok(status) => {
            let mut record = outcome.record.clone();
            record.elapsed_ms = started.elapsed().as_millis();
            if outcome.record.method.as_deref() == Some("openpgp") {
                let result = if outcome.action == Action::Encrypt {
                    "ok"
                } else {
                    "error"
                };
                shared
                    .metrics
                    .encryptions
                    .with_label_values(&["openpgp", result])
                    .inc();
            } else if outcome.record.method.as_deref() == Some("none") {
                shared
                    .metrics
                    .encryptions
                    .with_label_values(&["openpgp", "no_key"])
                    .inc();
            }
            finish(&shared, outcome.action, record);
            status
        }
        Err(e) => internal_error(
            ctx,
            &shared,
            &qid,
            &format!("the MTA refused an action: {e}"),
        ),
    }
}

/// Sends the planned operations and gives the final status.
async fn carry_out(
    ctx: &mut EomContext<Session>,
    outcome: &Outcome,
) -> Result<Status, indymilter::ActionError> {
    match outcome.action {
        Action::Reject | Action::Tempfail => {
            let reply = outcome
                .reply
                .clone()
                .unwrap_or_else(|| match outcome.action {
                    Action::Reject => crate::decision::Reply::reject("refused by policy"),
                    _ => crate::decision::Reply::tempfail("refused by policy"),
                });
            let code = reply.code.to_string();
            if ctx
                .reply
                .set_error_reply(&code, Some(&reply.enhanced), [cstring(&reply.text)])
                .is_err()
            {
                let _ = ctx
                    .reply
                    .set_error_reply(&code, None, ["refused by policy"]);
            }
            return Ok(if outcome.action == Action::Reject {
                Status::Reject
            } else {
                Status::Tempfail
            });
        }
        Action::Discard => return Ok(Status::Discard),
        Action::Accept | Action::Encrypt | Action::Quarantine => {}
    }

    // The body first: if the MTA refuses it, nothing else has been changed yet.
    if let Some(body) = &outcome.new_body {
        ctx.actions.replace_body(body).await?;
    }
    for op in &outcome.header_ops {
        match op {
            HeaderOp::Add { name, value } => {
                ctx.actions
                    .add_header(cstring(name), cstring(value))
                    .await?
            }
            HeaderOp::Change { name, index, value } => {
                ctx.actions
                    .change_header(cstring(name), *index, value.as_deref().map(cstring))
                    .await?
            }
        }
    }
    for op in &outcome.recipient_ops {
        match op {
            RecipientOp::Add(address) => {
                ctx.actions
                    .add_recipient(cstring(&format!("<{address}>")))
                    .await?
            }
            RecipientOp::Remove(address) => {
                ctx.actions
                    .delete_recipient(cstring(&format!("<{address}>")))
                    .await?
            }
        }
    }
    if let Some(reason) = &outcome.quarantine_reason {
        ctx.actions.quarantine(cstring(reason)).await?;
    }
    Ok(Status::Accept)
}

fn internal_error(ctx: &mut EomContext<Session>, shared: &Shared, qid: &str, why: &str) -> Status {
    tracing::error!("{qid}: {why}; tempfail");
    shared.metrics.internal_errors.inc();
    let _ = ctx.reply.set_error_reply(
        "451",
        Some("4.3.0"),
        ["temporary local problem, try again later"],
    );
    finish(
        shared,
        Action::Tempfail,
        Record {
            queue_id: qid.to_owned(),
            action: "tempfail".into(),
            reason: Some(why.chars().take(200).collect()),
            ..Record::default()
        },
    );
    Status::Tempfail
}

fn finish(shared: &Shared, action: Action, record: Record) {
    shared
        .metrics
        .messages
        .with_label_values(&[action.as_str()])
        .inc();
    shared
        .metrics
        .message_duration
        .with_label_values(&[action.as_str()])
        .observe(record.elapsed_ms as f64 / 1000.0);
    shared.audit.write(&record);
}
