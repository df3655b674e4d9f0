//! The span plan's steps, each alone (the cluster test runs them for real across processes).

use convene_media::TrackSource;
use convene_proto::{ErrorCode, ParticipantId, RoomId};

use super::plan::{Action, Plan};
use super::wire::{Control, Item, WireEvent};
use crate::media::{remote_link, MediaCmd, MediaOut};

fn room() -> RoomId {
    RoomId("big".into())
}

fn pid(s: &str) -> ParticipantId {
    ParticipantId::new(s)
}

fn never(_: &RoomId) -> bool {
    false
}

/// The controls sent, in order, on `slot`.
fn sent(actions: &[Action], slot: u32) -> Vec<Control> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Send(s, c) if *s == slot => Some(c.clone()),
            _ => None,
        })
        .collect()
}

/// The (worker, link) pairs added.
fn links_added(actions: &[Action]) -> Vec<(usize, u32)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Worker(w, MediaCmd::AddLink { link, .. }) => Some((*w, link.0)),
            _ => None,
        })
        .collect()
}

#[test]
fn the_owner_links_its_workers_with_the_helpers_only_once_the_helper_has() {
    let mut plan = Plan::default();
    let a = plan.place(7, &room(), &pid("p3"), &[0, 1]);
    assert_eq!(
        sent(&a, 7),
        vec![Control::Add {
            room: room(),
            participant: pid("p3")
        }]
    );
    // The helper placed it on its worker 0: each of our two workers is asked to be linked with it.
    let hosts = Control::Hosts {
        room: room(),
        workers: vec![0],
    };
    let a = plan.on_control(7, hosts, &never);
    let mut asked = sent(&a, 7);
    asked.sort_by_key(|c| format!("{c:?}"));
    assert_eq!(
        asked,
        vec![
            Control::Link {
                room: room(),
                owner: 0,
                helper: 0
            },
            Control::Link {
                room: room(),
                owner: 1,
                helper: 0
            },
        ]
    );
    assert!(links_added(&a).is_empty(), "not before the helper answers");
    let linked = Control::Linked {
        room: room(),
        owner: 1,
        helper: 0,
    };
    let a = plan.on_control(7, linked.clone(), &never);
    assert_eq!(links_added(&a), vec![(1, remote_link(7, 0).0)]);
    // The same answer again links nothing twice; it is told to undo instead.
    let a = plan.on_control(7, linked, &never);
    assert!(links_added(&a).is_empty());
    assert!(matches!(sent(&a, 7)[..], [Control::Unlink { .. }]));
    // Our worker 1 no longer holds the room: its link goes, both sides.
    let a = plan.hosts_changed(&room(), &[0]);
    assert!(a.iter().any(|x| matches!(
        x,
        Action::Worker(1, MediaCmd::RemoveLink { link, .. }) if *link == remote_link(7, 0)
    )));
    assert!(sent(&a, 7).contains(&Control::Unlink {
        room: room(),
        owner: 1,
        helper: 0
    }));
}

#[test]
fn a_helper_answers_before_its_worker_can_speak_and_obeys_only_the_owner_that_placed() {
    let mut plan = Plan::default();
    let add = Control::Add {
        room: room(),
        participant: pid("p3"),
    };
    let a = plan.on_control(4, add, &never);
    assert!(matches!(
        &a[..],
        [Action::Here(r, MediaCmd::AddParticipant { .. })] if *r == room()
    ));
    let link = Control::Link {
        room: room(),
        owner: 1,
        helper: 0,
    };
    let a = plan.on_control(4, link, &never);
    // `Linked` is queued first: whatever our worker relays on the new link follows it.
    assert!(matches!(a[0], Action::Send(4, Control::Linked { .. })));
    assert!(matches!(
        &a[1],
        Action::Worker(0, MediaCmd::AddLink { link, .. }) if *link == remote_link(4, 1)
    ));
    // Another link may not speak of this session.
    let mute = Control::ServerMute {
        participant: pid("p3"),
        source: convene_proto::Source::Microphone,
        muted: true,
    };
    assert!(plan.on_control(5, mute.clone(), &never).is_empty());
    assert!(matches!(
        &plan.on_control(4, mute, &never)[..],
        [Action::Here(_, MediaCmd::ServerMute { muted: true, .. })]
    ));
    // Our reports about it go back on its owner's link.
    assert_eq!(plan.hosted_slot(&pid("p3")), Some(4));
    assert_eq!(plan.hosted_room_slot(&room()), Some(4));
    // The owner's link ends: the session and the link end here.
    let a = plan.closed(4);
    assert!(a.iter().any(|x| matches!(
        x,
        Action::Here(_, MediaCmd::RemoveParticipant { participant }) if *participant == pid("p3")
    )));
    assert!(a.iter().any(|x| matches!(
        x,
        Action::Worker(0, MediaCmd::RemoveLink { link, .. }) if *link == remote_link(4, 1)
    )));
    assert_eq!(plan.hosted_slot(&pid("p3")), None);
    assert_eq!(plan.counts(), (0, 0));
}

#[test]
fn a_lost_helpers_sessions_are_placed_again_with_their_mutes_and_told_to_offer_anew() {
    let mut plan = Plan::default();
    plan.add_helper("node-b", 9);
    plan.place(9, &room(), &pid("p5"), &[0]);
    let mute = MediaCmd::ServerMute {
        participant: pid("p5"),
        source: TrackSource::Camera,
        muted: true,
    };
    let a = plan.command(mute).expect("the helper holds p5");
    assert!(matches!(
        a[..],
        [Action::Send(9, Control::ServerMute { .. })]
    ));
    let not_there = MediaCmd::SetReceives {
        participant: pid("p1"),
        receives: false,
    };
    assert!(plan.command(not_there).is_err(), "p1 is on this node");
    let hosts = Control::Hosts {
        room: room(),
        workers: vec![2],
    };
    plan.on_control(9, hosts, &never);
    let linked = Control::Linked {
        room: room(),
        owner: 0,
        helper: 2,
    };
    plan.on_control(9, linked, &never);

    let a = plan.closed(9);
    assert!(a.iter().any(|x| matches!(
        x,
        Action::Worker(0, MediaCmd::RemoveLink { link, .. }) if *link == remote_link(9, 2)
    )));
    let placed: Vec<&MediaCmd> = a
        .iter()
        .filter_map(|x| match x {
            Action::Place(_, cmd) => Some(cmd),
            _ => None,
        })
        .collect();
    assert!(
        matches!(placed[0], MediaCmd::AddParticipant { participant, .. } if *participant == pid("p5"))
    );
    assert!(matches!(
        placed[1],
        MediaCmd::ServerMute {
            source: TrackSource::Camera,
            muted: true,
            ..
        }
    ));
    assert!(a.iter().any(|x| matches!(
        x,
        Action::Inject(MediaOut::Moved { participant }) if *participant == pid("p5")
    )));
    assert_eq!(plan.helper_slot("node-b"), None);
    assert!(plan.helpers_of(&room()).is_empty());
}

#[test]
fn reports_come_in_only_from_the_helper_holding_the_session() {
    let mut plan = Plan::default();
    plan.place(3, &room(), &pid("p2"), &[0]);
    let answer = |p: &str| Control::SdpAnswer {
        participant: pid(p),
        sdp: "v=0".into(),
    };
    assert!(matches!(
        &plan.on_control(3, answer("p2"), &never)[..],
        [Action::Inject(MediaOut::Answer { .. })]
    ));
    assert!(plan.on_control(8, answer("p2"), &never).is_empty());
    assert!(plan.on_control(3, answer("p9"), &never).is_empty());
    let refused = Control::Refused {
        participant: pid("p2"),
        request: "<script>".into(),
        code: ErrorCode::MediaError,
        message: "the SDP could not be parsed".into(),
    };
    match &plan.on_control(3, refused, &never)[..] {
        [Action::Inject(MediaOut::Refused { request, .. })] => {
            assert_eq!(
                *request, "media",
                "an unknown request name is not passed on"
            )
        }
        other => panic!("{other:?}"),
    }
    // Speakers: from the helper only while none of our workers hold the room.
    let speaker = || {
        Control::Event(WireEvent::DominantSpeaker {
            room: room(),
            participant: pid("p2"),
        })
    };
    assert!(plan.on_control(3, speaker(), &|_| true).is_empty());
    assert_eq!(plan.on_control(3, speaker(), &never).len(), 1);
}

#[test]
fn link_items_come_back_as_they_went_and_garbage_is_refused() {
    let items = [
        Item::Control(Control::Offer {
            participant: pid("p1"),
            sdp: "v=0\r\n".into(),
            sources: vec![("0".into(), convene_proto::Source::Screen)],
        }),
        Item::Relay {
            from: 1,
            to: vec![0, 3],
            bytes: vec![9, 8, 7],
        },
    ];
    let mut buf = Vec::new();
    for item in items {
        item.encode(&mut buf);
        let back = Item::decode(&buf).expect("decodes");
        assert_eq!(format!("{back:?}"), format!("{item:?}"));
    }
    for garbage in [
        &[][..],
        &[0][..],
        &[2, 1][..],
        &[1, b'{'][..],
        &[77, 1, 2][..],
        // A relay to no worker; a list of receivers cut short.
        &[2, 1, 0, 9][..],
        &[2, 1, 3, 0, 1][..],
    ] {
        assert!(Item::decode(garbage).is_err(), "{garbage:?}");
    }
}

#[test]
fn a_helpers_list_of_workers_is_bounded_before_it_is_linked() {
    let mut plan = Plan::default();
    plan.place(2, &room(), &pid("p1"), &[0]);
    let mut workers: Vec<u32> = (0..100_000).collect();
    workers.extend([3, 3, 3]);
    let hosts = Control::Hosts {
        room: room(),
        workers,
    };
    let asked = sent(&plan.on_control(2, hosts, &never), 2);
    assert_eq!(
        asked.len(),
        256,
        "one link per distinct worker a node can have"
    );
}
