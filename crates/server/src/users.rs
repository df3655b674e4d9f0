//! Accounts from the command line (`convene user ...`): what an operator does before anyone signs up,
//! such as making the first admin, or when signup is closed.

use std::io::BufRead;

use convene_store::{NewUser, Store, UserId};

use crate::auth::{normalize_email, password};
use crate::config::Config;
use crate::error::ServerError;

#[derive(Debug, thiserror::Error)]
pub enum UsersError {
    #[error("database: {0}")]
    Store(#[from] convene_store::StoreError),
    #[error("{0}")]
    Refused(String),
    #[error("reading the password: {0}")]
    Io(#[from] std::io::Error),
}

impl From<ServerError> for UsersError {
    fn from(e: ServerError) -> Self {
        UsersError::Refused(e.public_message())
    }
}

/// Makes an account (an admin with `admin`).
pub async fn add(
    config: &Config,
    email: &str,
    name: Option<&str>,
    admin: bool,
    password_text: &str,
) -> Result<UserId, UsersError> {
    let email = normalize_email(email)
        .ok_or_else(|| UsersError::Refused(format!("{email:?} is not an email address")))?;
    let default_name = email.split('@').next().unwrap_or_default().to_owned();
    let name = crate::validate::display_name(
        name.unwrap_or(&default_name),
        config.limits.display_name_max_chars as usize,
    )?;
    password::check_policy(password_text, config.auth.min_password_chars as usize)?;
    let store = convene_store::connect(&config.database.url).await?;
    let id = store
        .create_user(&NewUser {
            email: email.clone(),
            display_name: name,
            password_hash: password::hash(password_text)?,
            is_admin: admin,
            created_at: crate::clock::now_ms(),
        })
        .await
        .map_err(|e| match e {
            convene_store::StoreError::Conflict(_) => {
                UsersError::Refused(format!("an account for {email} exists already"))
            }
            other => other.into(),
        })?;
    store.close().await;
    Ok(id)
}

/// Sets an account's password; every browser signed in to it is signed out.
pub async fn passwd(config: &Config, email: &str, password_text: &str) -> Result<(), UsersError> {
    password::check_policy(password_text, config.auth.min_password_chars as usize)?;
    let store = convene_store::connect(&config.database.url).await?;
    let user = match normalize_email(email) {
        Some(e) => store.user_by_email(&e).await?,
        None => None,
    }
    .ok_or_else(|| UsersError::Refused(format!("there is no account for {email}")))?;
    store
        .set_user_password(
            user.id,
            &password::hash(password_text)?,
            crate::clock::now_ms(),
        )
        .await?;
    store.close().await;
    Ok(())
}

/// One line from standard input, without its line ending. On a terminal, typing is not echoed.
pub fn read_password(prompt: &str) -> Result<String, UsersError> {
    let stdin = std::io::stdin();
    let echo = EchoOff::on_terminal();
    if echo.is_some() {
        eprint!("{prompt}");
    }
    let mut line = String::new();
    stdin.lock().read_line(&mut line)?;
    if echo.is_some() {
        eprintln!();
    }
    drop(echo);
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

/// Turns terminal echo off while it lives (no crate in the tree does this; it is two termios calls).
struct EchoOff {
    saved: libc::termios,
}

impl EchoOff {
    fn on_terminal() -> Option<Self> {
        // SAFETY: isatty/tcgetattr/tcsetattr on fd 0 with a termios we own; failures leave echo on.
        unsafe {
            if libc::isatty(0) != 1 {
                return None;
            }
            let mut t: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(0, &mut t) != 0 {
                return None;
            }
            let saved = t;
            t.c_lflag &= !libc::ECHO;
            if libc::tcsetattr(0, libc::TCSANOW, &t) != 0 {
                return None;
            }
            Some(Self { saved })
        }
    }
}

impl Drop for EchoOff {
    fn drop(&mut self) {
        // SAFETY: restores the settings read in `on_terminal` on the same descriptor.
        unsafe {
            libc::tcsetattr(0, libc::TCSANOW, &self.saved);
        }
    }
}
