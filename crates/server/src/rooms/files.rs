//! Shared files in a room. The bytes are stored by the HTTP handler (files/upload.rs) before the
//! room hears of them; here a file becomes part of the meeting: its row is written by the room's
//! writer (with the meeting's quota checked in the same transaction), and only once committed is
//! `file_shared` sent to everyone, in the room's order, and kept for later joiners. A host's
//! deletion goes the same way: row deleted, then `file_deleted`, then the blobs.

use std::collections::VecDeque;

use convene_proto::{ErrorCode, FileAccess, ParticipantId, ServerMessage, SharedFile};
use convene_store::{FileInsert, FileRecord, MeetingId, NewFile, Store, StoreError};

use super::command::AnswerTo;
use super::plane::{Actor, RoomAnswer};
use super::room::Room;
use crate::clock::now_ms;
use crate::error::ServerError;
use crate::files::StoredFile;

/// Files a `joined` lists (the newest); the meeting's record (REST) has them all.
pub const FILES_IN_HISTORY: usize = 100;

/// A write of the room's writer about files.
#[derive(Debug)]
pub enum FileJob {
    Add {
        file: NewFile,
        quota: i64,
        reply: AnswerTo,
    },
    Delete {
        meeting: MeetingId,
        file_id: String,
        reply: AnswerTo,
    },
}

/// A finished file write, for the room to broadcast and answer.
#[derive(Debug)]
pub enum FileDone {
    Added {
        result: Result<FileInsert, StoreError>,
        reply: AnswerTo,
    },
    Deleted {
        result: Result<Option<Box<FileRecord>>, StoreError>,
        reply: AnswerTo,
    },
}

impl FileJob {
    pub async fn run(self, store: &dyn Store) -> FileDone {
        match self {
            FileJob::Add { file, quota, reply } => FileDone::Added {
                result: store.add_file(&file, quota).await,
                reply,
            },
            FileJob::Delete {
                meeting,
                file_id,
                reply,
            } => FileDone::Deleted {
                result: store
                    .delete_file(meeting, &file_id)
                    .await
                    .map(|f| f.map(Box::new)),
                reply,
            },
        }
    }
}

impl FileDone {
    /// The room has ended: nobody to tell, but the request learns what became of its write.
    pub fn answer_directly(self) {
        let (reply, result) = match self {
            FileDone::Added { result, reply } => (reply, result.map(|_| RoomAnswer::Done)),
            FileDone::Deleted { result, reply } => (reply, result.map(|_| RoomAnswer::Done)),
        };
        let _ = reply.send(result.map_err(ServerError::Storage));
    }
}

/// A file as the protocol shows it.
pub fn shared(r: &FileRecord) -> SharedFile {
    SharedFile {
        id: r.public_id.clone(),
        name: r.name.clone(),
        size: u64::try_from(r.size).unwrap_or(0),
        content_type: r.content_type.clone(),
        from: ParticipantId(r.participant_id.clone()),
        from_name: r.display_name.clone(),
        shared_at: r.created_at,
        preview: r.preview_key.is_some(),
        width: r.width.and_then(|w| u32::try_from(w).ok()),
        height: r.height.and_then(|h| u32::try_from(h).ok()),
    }
}

/// The newest [`FILES_IN_HISTORY`] of `files`, oldest first.
pub fn history(files: &[FileRecord]) -> VecDeque<SharedFile> {
    let skip = files.len().saturating_sub(FILES_IN_HISTORY);
    files.iter().skip(skip).map(shared).collect()
}

impl Room {
    /// Whether `from` may share a file in `meeting` now: in this meeting (not waiting in its
    /// lobby, which `requests.rs` answers), with a role the policy lets share.
    pub(super) fn may_share_file(
        &self,
        from: &ParticipantId,
        meeting: i64,
    ) -> Result<(), ServerError> {
        let Some(p) = self.find(from) else {
            return Err(ServerError::client(
                ErrorCode::NotJoined,
                "not in this meeting",
            ));
        };
        if self.meeting != Some(MeetingId(meeting)) {
            return Err(ServerError::client(
                ErrorCode::NotJoined,
                "that meeting has ended; files go to the meeting you are in",
            ));
        }
        crate::policy::may_share_file(p.info.role, p.grants.as_ref())
    }

    /// Records a stored file (checked again: the role may have changed while it uploaded); the
    /// answer comes once it is committed and announced.
    pub(super) fn share_file(
        &mut self,
        from: ParticipantId,
        meeting: i64,
        file: StoredFile,
        reply: AnswerTo,
    ) {
        if let Err(e) = self.may_share_file(&from, meeting) {
            let _ = reply.send(Err(e));
            return;
        }
        let Some(p) = self.find(&from) else { return };
        let new = NewFile {
            public_id: file.id,
            meeting: MeetingId(meeting),
            session: p.session,
            name: file.name,
            content_type: file.content_type,
            size: i64::try_from(file.size).unwrap_or(i64::MAX),
            sha256: file.sha256,
            blob_key: file.blob_key,
            preview_key: file.preview_key,
            width: file.width.map(i64::from),
            height: file.height.map(i64::from),
            created_at: now_ms(),
        };
        let quota = i64::try_from(self.state.config.files.max_meeting_bytes).unwrap_or(i64::MAX);
        self.writer.file(FileJob::Add {
            file: new,
            quota,
            reply,
        });
    }

    /// A host power: deletes a file for everyone (its row now, its bytes once that is committed).
    pub(super) fn delete_file(&mut self, actor: &Actor, file_id: String, reply: AnswerTo) {
        let Some(meeting) = self.meeting else {
            let _ = reply.send(Err(no_such_file()));
            return;
        };
        let name = self
            .files
            .iter()
            .find(|f| f.id == file_id)
            .map(|f| f.name.clone());
        self.audit(
            actor,
            "delete_file",
            None,
            None,
            Some(name.as_deref().unwrap_or(&file_id)),
        );
        self.writer.file(FileJob::Delete {
            meeting,
            file_id,
            reply,
        });
    }

    /// A file write has finished: announce it and answer, or refuse.
    pub(super) fn file_done(&mut self, done: FileDone) {
        match done {
            FileDone::Added { result, reply } => {
                let answer = match result {
                    Ok(FileInsert::Stored(record)) => {
                        let file = shared(&record);
                        self.files.push_back(file.clone());
                        while self.files.len() > FILES_IN_HISTORY {
                            self.files.pop_front();
                        }
                        self.broadcast(&ServerMessage::FileShared { file: file.clone() });
                        Ok(RoomAnswer::File { file })
                    }
                    Ok(FileInsert::OverQuota { .. }) => Err(crate::files::quota_exceeded(
                        self.state.config.files.max_meeting_bytes,
                    )),
                    Err(e) => Err(self.storage_failed(e).into()),
                };
                let _ = reply.send(answer);
            }
            FileDone::Deleted { result, reply } => {
                let answer = match result {
                    Ok(Some(record)) => {
                        self.files.retain(|f| f.id != record.public_id);
                        self.broadcast(&ServerMessage::FileDeleted {
                            file_id: record.public_id.clone(),
                        });
                        crate::files::delete_blobs(self.state.clone(), *record);
                        Ok(RoomAnswer::Done)
                    }
                    Ok(None) => Err(no_such_file()),
                    Err(e) => Err(self.storage_failed(e).into()),
                };
                let _ = reply.send(answer);
            }
        }
    }

    /// How participant `id` shares and fetches files, for its `joined`.
    pub(super) fn file_access(&self, meeting: MeetingId, id: &ParticipantId) -> Option<FileAccess> {
        let files = &self.state.config.files;
        files.enabled.then(|| FileAccess {
            token: crate::files::token::issue(
                &self.state.resume_key,
                meeting,
                id,
                u64::try_from(now_ms() / 1000).unwrap_or(0),
            ),
            max_file_bytes: files.max_file_bytes,
            max_meeting_bytes: files.max_meeting_bytes,
        })
    }
}

fn no_such_file() -> ServerError {
    ServerError::client(ErrorCode::NotFound, "this meeting has no such file")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(i: i64) -> FileRecord {
        FileRecord {
            id: i,
            public_id: format!("f_{i}"),
            meeting: MeetingId(1),
            session: convene_store::SessionId(1),
            participant_id: "p_a".into(),
            display_name: "Ada".into(),
            name: "a.txt".into(),
            content_type: "text/plain".into(),
            size: 1,
            sha256: String::new(),
            blob_key: String::new(),
            preview_key: None,
            width: None,
            height: None,
            created_at: i,
        }
    }

    #[test]
    fn joined_lists_the_newest_files_up_to_its_bound() {
        let all: Vec<FileRecord> = (1..=FILES_IN_HISTORY as i64 + 5).map(record).collect();
        let kept = history(&all);
        assert_eq!(kept.len(), FILES_IN_HISTORY);
        assert_eq!(
            kept.front().map(|f| f.id.as_str()),
            Some("f_6"),
            "the oldest go"
        );
        assert_eq!(
            kept.back().map(|f| f.id.as_str()),
            Some(format!("f_{}", FILES_IN_HISTORY + 5).as_str())
        );
        assert_eq!(history(&all[..3]).len(), 3);
    }
}
