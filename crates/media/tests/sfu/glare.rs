//! Negotiation: the client renegotiates while the server's own offer is outstanding (glare).
//! The server is polite: it drops its offer, answers the client, then offers again.

use std::time::Duration;

use convene_media::Event;

use super::sim::World;

#[test]
fn glare_server_rolls_back_and_reoffers() {
    let mut w = World::new(8);
    w.join("bob", true, false);
    w.run_for(Duration::from_secs(1));
    // Alice publishes; the server's offer to bob (adding alice's tracks) is held in flight.
    let bob = w.clients[0].id.clone();
    w.hold_offers_for = Some(bob.clone());
    w.join("alice", true, true);
    let deadline = w.now + Duration::from_secs(3);
    while w.held_offers.is_empty() && w.now < deadline {
        w.step();
    }
    assert!(
        !w.held_offers.is_empty(),
        "server offered bob alice's tracks"
    );
    // Meanwhile bob adds a camera: his offer crosses the server's.
    let (offer, sources) = w.clients[0].offer_video();
    let answer = w
        .sfu
        .handle_offer(&bob, &offer, &sources, w.now)
        .expect("answered");
    w.clients[0].accept_answer(&answer);
    // Bob (impolite) ignores the stale server offer; an answer to it would be refused.
    w.held_offers.clear();
    w.hold_offers_for = None;
    w.run_for(Duration::from_secs(4));

    // The re-offer went through: media flows both ways.
    assert!(w.clients[0].video_from(1).len() > 30, "bob sees alice");
    assert!(w.clients[0].audio_from(1).len() > 100, "bob hears alice");
    assert!(
        w.clients[1].video_from(0).len() > 30,
        "alice sees bob's new camera"
    );
    let offers_to_bob = w
        .events
        .iter()
        .filter(|(_, e)| matches!(e, Event::SendOffer { participant, .. } if participant.as_str() == "bob"))
        .count();
    assert!(offers_to_bob >= 2, "server re-offered after glare");
}
