//! Access tokens (JWT), as LiveKit's: a developer's backend signs one per person and room with a key
//! it shares with this server (`auth.token_keys`), and the person joins with it. The algorithm is
//! pinned to HS256 for every key, so `alg: none` or a token signed otherwise never verifies; the
//! key is chosen by the header's `kid`. Parsing and checking signatures is `jsonwebtoken`'s.

use convene_proto::{ErrorCode, Source};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::config::AuthConfig;
use crate::error::ServerError;

/// Seconds of clock difference forgiven on `exp` and `nbf`.
const LEEWAY_SECS: u64 = 5;

/// What a token lets its holder do in its room.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Grants {
    /// Enter the room. A token without it admits nobody.
    #[serde(default = "yes")]
    pub join: bool,
    /// Publish: `true` (every source), `false`, or a list of sources.
    #[serde(default)]
    #[schema(schema_with = publish_schema)]
    pub publish: Publish,
    /// Send chat messages (and reactions).
    #[serde(default = "yes")]
    pub chat: bool,
    /// Receive the others' media.
    #[serde(default = "yes")]
    pub subscribe: bool,
    /// Moderate the room: the holder is a co-host.
    #[serde(default)]
    pub room_admin: bool,
    /// Be in nobody's participant list (recorders, monitors); publishes and chats nothing.
    #[serde(default)]
    pub hidden: bool,
    /// Start and stop recording the meeting.
    #[serde(default)]
    pub record: bool,
}

fn yes() -> bool {
    true
}

impl Default for Grants {
    fn default() -> Self {
        Self {
            join: true,
            publish: Publish::default(),
            chat: true,
            subscribe: true,
            room_admin: false,
            hidden: false,
            record: false,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Publish {
    All(bool),
    Sources(Vec<Source>),
}

/// `Publish` in the OpenAPI document: written by hand because `Source` lives in the protocol crate,
/// which stays free of documentation libraries.
fn publish_schema() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, OneOfBuilder, Type};
    let source = ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(["microphone", "camera", "screen", "screen_audio"]));
    OneOfBuilder::new()
        .item(ObjectBuilder::new().schema_type(Type::Boolean))
        .item(ArrayBuilder::new().items(source))
        .description(Some("`true` (every source), `false`, or a list of sources"))
        .build()
        .into()
}

impl Default for Publish {
    fn default() -> Self {
        Publish::All(true)
    }
}

impl Publish {
    /// Whether no source at all may be published: the holder is a viewer.
    pub fn none(&self) -> bool {
        matches!(self, Publish::All(false)) || matches!(self, Publish::Sources(l) if l.is_empty())
    }

    pub fn allows(&self, source: Source) -> bool {
        match self {
            Publish::All(all) => *all,
            Publish::Sources(list) => list.contains(&source),
        }
    }
}

/// A token's claims. Unknown claims are refused: a grant this server does not know must not look
/// granted when it is not enforced.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Claims {
    /// The identity of the person, as the developer's system knows them.
    pub sub: String,
    /// Display name; the join's own is used when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The room (its canonical name) the token is for.
    pub room: String,
    pub exp: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    #[serde(default)]
    pub grants: Grants,
}

fn refuse(code: ErrorCode, message: &str) -> ServerError {
    ServerError::client(code, message)
}

/// The claims of `token` if one of this server's keys signed it, it is valid now, and it is for
/// `room` (a canonical room name).
pub fn verify(config: &AuthConfig, token: &str, room: &str) -> Result<Claims, ServerError> {
    let invalid = |m: &str| refuse(ErrorCode::InvalidToken, m);
    if config.token_keys.is_empty() {
        return Err(refuse(
            ErrorCode::Unauthorized,
            "this server takes no access tokens (auth.token_keys is empty)",
        ));
    }
    let header = jsonwebtoken::decode_header(token).map_err(|_| invalid("not a signed token"))?;
    if header.alg != Algorithm::HS256 {
        return Err(invalid("tokens here are signed with HS256"));
    }
    let kid = header
        .kid
        .ok_or_else(|| invalid("the token names no key (kid)"))?;
    let secret =
        key(config, &kid).ok_or_else(|| invalid("the token's key (kid) is unknown here"))?;
    let mut validation = Validation::new(Algorithm::HS256);
    validation.leeway = LEEWAY_SECS;
    validation.validate_nbf = true;
    validation.set_required_spec_claims(&["exp", "sub"]);
    let key = DecodingKey::from_secret(secret.as_bytes())
        .map_err(|_| ServerError::Internal("an unusable token key".into()))?;
    let data =
        jsonwebtoken::decode::<Claims>(token, &key, &validation).map_err(|e| match e.kind() {
            ErrorKind::ExpiredSignature => {
                refuse(ErrorCode::TokenExpired, "the access token has expired")
            }
            ErrorKind::ImmatureSignature => refuse(
                ErrorCode::TokenNotYetValid,
                "the access token is not valid yet (nbf)",
            ),
            ErrorKind::InvalidSignature => invalid("the access token's signature does not verify"),
            ErrorKind::InvalidAlgorithm => invalid("tokens here are signed with HS256"),
            _ => invalid("the access token's claims are not ones this server takes"),
        })?;
    let claims = data.claims;
    if claims.sub.is_empty() || claims.sub.len() > 128 {
        return Err(invalid("the token's sub is 1 to 128 bytes"));
    }
    if crate::validate::canonical_room_name(&claims.room) != room {
        return Err(refuse(
            ErrorCode::TokenWrongRoom,
            "the access token is for another room",
        ));
    }
    if !claims.grants.join {
        return Err(refuse(
            ErrorCode::Forbidden,
            "the access token does not grant joining",
        ));
    }
    Ok(claims)
}

/// Signs `claims` with the key `kid` (the first key when None).
pub fn issue(
    config: &AuthConfig,
    kid: Option<&str>,
    claims: &Claims,
) -> Result<String, ServerError> {
    let (kid, secret) = match kid {
        Some(k) => (k, key(config, k)),
        None => config
            .token_keys
            .first()
            .and_then(|k| k.split_once(':'))
            .map_or(("", None), |(k, s)| (k, Some(s))),
    };
    let secret = secret.ok_or_else(|| {
        refuse(
            ErrorCode::InvalidMessage,
            "no such token key (see auth.token_keys)",
        )
    })?;
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some(kid.to_owned());
    let key = EncodingKey::from_secret(secret.as_bytes())
        .map_err(|_| ServerError::Internal("an unusable token key".into()))?;
    jsonwebtoken::encode(&header, claims, &key)
        .map_err(|e| ServerError::Internal(format!("signing a token: {e}")))
}

/// A token for `identity` in `room` valid for `ttl_secs` (at most `auth.token_max_ttl_secs`,
/// default one hour), with `grants`: what `convene token create` and `POST /api/v1/tokens` make.
pub fn make(
    config: &crate::config::Config,
    room: &str,
    identity: &str,
    name: Option<String>,
    ttl_secs: Option<u64>,
    grants: Grants,
    kid: Option<&str>,
) -> Result<(String, Claims), ServerError> {
    let room = crate::validate::room_name(room, config.limits.room_name_max_chars as usize)?.0;
    if identity.is_empty() || identity.len() > 128 {
        return Err(refuse(
            ErrorCode::InvalidMessage,
            "identity is 1 to 128 bytes",
        ));
    }
    let name = name
        .map(|n| crate::validate::display_name(&n, config.limits.display_name_max_chars as usize))
        .transpose()?;
    let max = config.auth.token_max_ttl_secs;
    let ttl = ttl_secs.unwrap_or(3600);
    if ttl == 0 || ttl > max {
        return Err(refuse(
            ErrorCode::InvalidMessage,
            &format!("ttl_secs is 1 to {max} (auth.token_max_ttl_secs)"),
        ));
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let claims = Claims {
        sub: identity.to_owned(),
        name,
        room,
        exp: now + ttl,
        nbf: Some(now),
        iat: Some(now),
        jti: Some(super::token::new_token()),
        grants,
    };
    let token = issue(&config.auth, kid, &claims)?;
    Ok((token, claims))
}

/// Grants from the command line's words: `publish`, `publish:microphone+camera`, `subscribe`,
/// `chat`, `room_admin`, `hidden`, `record` (joining is implied; what is not named is not granted).
pub fn grants_from_words(words: &[String]) -> Result<Grants, ServerError> {
    let mut g = Grants {
        join: true,
        publish: Publish::All(false),
        chat: false,
        subscribe: false,
        room_admin: false,
        hidden: false,
        record: false,
    };
    for w in words.iter().map(|w| w.trim()).filter(|w| !w.is_empty()) {
        match w.split_once(':') {
            None if w == "join" => {}
            None if w == "chat" => g.chat = true,
            None if w == "subscribe" => g.subscribe = true,
            None if w == "room_admin" => g.room_admin = true,
            None if w == "hidden" => g.hidden = true,
            None if w == "record" => g.record = true,
            None if w == "publish" => g.publish = Publish::All(true),
            Some(("publish", list)) => {
                let sources = list
                    .split('+')
                    .map(|s| serde_json::from_value(serde_json::Value::String(s.into())))
                    .collect::<Result<Vec<Source>, _>>()
                    .map_err(|_| {
                        refuse(
                            ErrorCode::InvalidMessage,
                            "sources are microphone, camera, screen and screen_audio",
                        )
                    })?;
                g.publish = Publish::Sources(sources);
            }
            _ => {
                return Err(refuse(
                    ErrorCode::InvalidMessage,
                    &format!(
                    "unknown grant {w:?}: use join, publish, publish:SOURCES, subscribe, chat, \
                         room_admin, hidden or record"
                ),
                ))
            }
        }
    }
    Ok(g)
}

/// `3600`, `90s`, `30m`, `1h` or `1d`, in seconds.
pub fn parse_ttl(text: &str) -> Result<u64, ServerError> {
    let text = text.trim();
    let (digits, unit) = text.split_at(
        text.find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len()),
    );
    let n: u64 = digits.parse().map_err(|_| {
        refuse(
            ErrorCode::InvalidMessage,
            "a ttl is like 3600, 90s, 30m, 1h or 1d",
        )
    })?;
    let scale = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => {
            return Err(refuse(
                ErrorCode::InvalidMessage,
                "a ttl is like 3600, 90s, 30m, 1h or 1d",
            ))
        }
    };
    Ok(n.saturating_mul(scale))
}

fn key<'a>(config: &'a AuthConfig, kid: &str) -> Option<&'a str> {
    config
        .token_keys
        .iter()
        .filter_map(|k| k.split_once(':'))
        .find(|(k, _)| *k == kid)
        .map(|(_, s)| s)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    fn config() -> AuthConfig {
        AuthConfig {
            token_keys: vec![format!("k1:{SECRET}"), format!("k2:{SECRET}-two")],
            ..AuthConfig::default()
        }
    }

    fn now() -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
    }

    fn claims() -> Claims {
        Claims {
            sub: "user-42".into(),
            name: Some("Ada".into()),
            room: "team".into(),
            exp: now() + 600,
            nbf: None,
            iat: Some(now()),
            jti: Some("j1".into()),
            grants: Grants::default(),
        }
    }

    fn code(r: Result<Claims, ServerError>) -> ErrorCode {
        r.expect_err("refused").code()
    }

    fn b64(bytes: &[u8]) -> String {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    }

    #[test]
    fn a_good_token_verifies_with_its_key() {
        let c = config();
        let t = issue(&c, Some("k2"), &claims()).unwrap();
        assert_eq!(verify(&c, &t, "team").unwrap(), claims());
        let t1 = issue(&c, None, &claims()).unwrap();
        assert!(verify(&c, &t1, "team").is_ok());
    }

    #[test]
    fn every_bad_token_is_refused_with_its_code() {
        let c = config();
        let good = issue(&c, Some("k1"), &claims()).unwrap();
        let parts: Vec<&str> = good.split('.').collect();
        // alg none: a header that says so, and no signature.
        let none = format!(
            "{}.{}.",
            b64(br#"{"alg":"none","typ":"JWT","kid":"k1"}"#),
            parts[1]
        );
        assert_eq!(code(verify(&c, &none, "team")), ErrorCode::InvalidToken);
        // Another algorithm with the same secret (HS384).
        let mut h = Header::new(Algorithm::HS384);
        h.kid = Some("k1".into());
        let hs384 = jsonwebtoken::encode(
            &h,
            &claims(),
            &EncodingKey::from_secret(SECRET.as_bytes()).unwrap(),
        )
        .unwrap();
        assert_eq!(code(verify(&c, &hs384, "team")), ErrorCode::InvalidToken);
        // An unknown kid, and none.
        let mut h = Header::new(Algorithm::HS256);
        h.kid = Some("k9".into());
        let unknown = jsonwebtoken::encode(
            &h,
            &claims(),
            &EncodingKey::from_secret(SECRET.as_bytes()).unwrap(),
        )
        .unwrap();
        assert_eq!(code(verify(&c, &unknown, "team")), ErrorCode::InvalidToken);
        let no_kid = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims(),
            &EncodingKey::from_secret(SECRET.as_bytes()).unwrap(),
        )
        .unwrap();
        assert_eq!(code(verify(&c, &no_kid, "team")), ErrorCode::InvalidToken);
        // Tampered payload: another room, the signature of the old one.
        let mut other = claims();
        other.room = "elsewhere".into();
        let payload = b64(serde_json::to_string(&other).unwrap().as_bytes());
        let tampered = format!("{}.{payload}.{}", parts[0], parts[2]);
        assert_eq!(
            code(verify(&c, &tampered, "elsewhere")),
            ErrorCode::InvalidToken
        );
        // Signed by a key that is not ours.
        let foreign = jsonwebtoken::encode(
            &{
                let mut h = Header::new(Algorithm::HS256);
                h.kid = Some("k1".into());
                h
            },
            &claims(),
            &EncodingKey::from_secret(b"another secret of thirty-two bytes!!").unwrap(),
        )
        .unwrap();
        assert_eq!(code(verify(&c, &foreign, "team")), ErrorCode::InvalidToken);
        // Expired, not yet valid, another room.
        let mut old = claims();
        old.exp = now() - 60;
        let expired = issue(&c, Some("k1"), &old).unwrap();
        assert_eq!(code(verify(&c, &expired, "team")), ErrorCode::TokenExpired);
        let mut early = claims();
        early.nbf = Some(now() + 600);
        let early = issue(&c, Some("k1"), &early).unwrap();
        assert_eq!(
            code(verify(&c, &early, "team")),
            ErrorCode::TokenNotYetValid
        );
        assert_eq!(code(verify(&c, &good, "other")), ErrorCode::TokenWrongRoom);
        // No join grant; a grant this server does not enforce; garbage.
        let mut nojoin = claims();
        nojoin.grants.join = false;
        let nojoin = issue(&c, None, &nojoin).unwrap();
        assert_eq!(code(verify(&c, &nojoin, "team")), ErrorCode::Forbidden);
        let mut h = Header::new(Algorithm::HS256);
        h.kid = Some("k1".into());
        let mut v = serde_json::to_value(claims()).unwrap();
        v["grants"]["can_update_metadata"] = serde_json::json!(true);
        let unknown_grant = jsonwebtoken::encode(
            &h,
            &v,
            &EncodingKey::from_secret(SECRET.as_bytes()).unwrap(),
        )
        .unwrap();
        assert_eq!(
            code(verify(&c, &unknown_grant, "team")),
            ErrorCode::InvalidToken
        );
        for junk in ["", "a.b", "a.b.c", "....", &"x".repeat(5000)] {
            assert_eq!(
                code(verify(&c, junk, "team")),
                ErrorCode::InvalidToken,
                "{junk:.20}"
            );
        }
        // A server without keys takes no tokens at all.
        assert_eq!(
            code(verify(&AuthConfig::default(), &good, "team")),
            ErrorCode::Unauthorized
        );
    }

    #[test]
    fn command_line_words() {
        let g = grants_from_words(&["publish:microphone+screen".into(), "chat".into()]).unwrap();
        assert!(g.chat && g.publish.allows(Source::Screen) && !g.publish.allows(Source::Camera));
        let none = grants_from_words(&[]).unwrap();
        assert!(none.join && !none.chat && !none.publish.allows(Source::Microphone));
        assert!(!none.subscribe && !none.room_admin && !none.hidden);
        let all = grants_from_words(&["subscribe".into(), "room_admin".into(), "hidden".into()]);
        let all = all.unwrap();
        assert!(all.subscribe && all.room_admin && all.hidden);
        assert!(grants_from_words(&["admin".into()]).is_err());
        assert!(grants_from_words(&["publish:lasers".into()]).is_err());
        assert_eq!(parse_ttl("1h").unwrap(), 3600);
        assert_eq!(parse_ttl("90").unwrap(), 90);
        assert!(parse_ttl("1w").is_err() && parse_ttl("h").is_err());
    }

    #[test]
    fn publish_grants_by_source() {
        assert!(Publish::All(true).allows(Source::Screen));
        assert!(!Publish::All(false).allows(Source::Microphone));
        let mic = Publish::Sources(vec![Source::Microphone]);
        assert!(mic.allows(Source::Microphone) && !mic.allows(Source::Camera));
        let g: Grants = serde_json::from_str(r#"{"publish":["microphone","screen"]}"#).unwrap();
        assert!(g.join && g.chat && g.publish.allows(Source::Screen));
    }
}
