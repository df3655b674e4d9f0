//! Who was removed from the meeting and may not come back to it: by participant id (what a resume
//! token names), by account, and by access-token identity. Kept in the meeting's record, so a
//! meeting reopened after a restart keeps its bans.

use convene_proto::ParticipantId;
use convene_store::{BanRecord, UserId};

#[derive(Debug, Default)]
pub struct Bans {
    participants: Vec<ParticipantId>,
    users: Vec<UserId>,
    identities: Vec<String>,
}

impl Bans {
    pub fn from_records(records: Vec<BanRecord>) -> Self {
        let mut bans = Self::default();
        for r in records {
            bans.add(ParticipantId(r.participant_id), r.user, r.identity);
        }
        bans
    }

    pub fn add(
        &mut self,
        participant: ParticipantId,
        user: Option<UserId>,
        identity: Option<String>,
    ) {
        self.participants.push(participant);
        self.users.extend(user);
        self.identities.extend(identity);
    }

    pub fn has(&self, participant: &ParticipantId) -> bool {
        self.participants.contains(participant)
    }

    /// Whether a join by this account or token identity is refused.
    pub fn refuses(&self, user: Option<UserId>, identity: Option<&str>) -> bool {
        user.is_some_and(|u| self.users.contains(&u))
            || identity.is_some_and(|i| self.identities.iter().any(|b| b == i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ban_holds_by_participant_account_and_identity_only() {
        let mut bans = Bans::default();
        bans.add(ParticipantId("p_a".into()), Some(UserId(7)), None);
        bans.add(ParticipantId("p_b".into()), None, Some("u-42".into()));
        assert!(bans.has(&ParticipantId("p_a".into())));
        assert!(!bans.has(&ParticipantId("p_c".into())));
        assert!(bans.refuses(Some(UserId(7)), None));
        assert!(bans.refuses(None, Some("u-42")));
        assert!(!bans.refuses(Some(UserId(8)), Some("u-43")));
        assert!(
            !bans.refuses(None, None),
            "a new guest is not anyone banned"
        );
    }
}
