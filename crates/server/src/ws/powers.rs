//! Host powers as the protocol asks them, turned into requests of the room plane. Whether the sender
//! may is the room's and the policy's to decide.

use convene_proto::ClientMessage;

use crate::error::ServerError;
use crate::rooms::RoomOp;

/// The room request for a host power.
pub fn host_power(msg: ClientMessage) -> Result<RoomOp, ServerError> {
    Ok(match msg {
        ClientMessage::MuteParticipant {
            participant_id,
            source,
        } => RoomOp::Mute {
            target: participant_id,
            source,
        },
        ClientMessage::MuteAll { source } => RoomOp::MuteAll { source },
        ClientMessage::AllowUnmute {
            participant_id,
            source,
        } => RoomOp::AllowUnmute {
            target: participant_id,
            source,
        },
        ClientMessage::RemoveParticipant { participant_id } => RoomOp::Remove {
            target: participant_id,
        },
        ClientMessage::EndMeeting => RoomOp::End,
        ClientMessage::SetRole {
            participant_id,
            role,
        } => RoomOp::SetRole {
            target: participant_id,
            role,
        },
        ClientMessage::TransferHost { participant_id } => RoomOp::TransferHost {
            target: participant_id,
        },
        ClientMessage::LowerHand { participant_id } => RoomOp::LowerHand {
            target: participant_id,
        },
        ClientMessage::SetLocked { locked } => RoomOp::SetLocked { locked },
        ClientMessage::SetLobby { enabled } => RoomOp::SetLobby { enabled },
        ClientMessage::Admit { participant_id } => RoomOp::Admit {
            target: participant_id,
        },
        ClientMessage::Deny { participant_id } => RoomOp::Deny {
            target: participant_id,
        },
        ClientMessage::AdmitAll => RoomOp::AdmitAll,
        ClientMessage::DeleteFile { file_id } => RoomOp::DeleteFile { file_id },
        ClientMessage::StartRecording => RoomOp::StartRecording,
        ClientMessage::StopRecording => RoomOp::StopRecording {
            reason: convene_proto::RecordingStopReason::Stopped,
        },
        other => {
            return Err(ServerError::Internal(format!(
                "`{}` is not a host power",
                other.type_name()
            )))
        }
    })
}
