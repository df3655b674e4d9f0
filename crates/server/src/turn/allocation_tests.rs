use super::*;
use crate::turn::auth::Authed;

fn authed(user: &str) -> Authed {
    Authed {
        user: user.into(),
        username: format!("1:{user}"),
        key: [0; 16],
    }
}

async fn alloc(user: &str, expires: Instant) -> Arc<Allocation> {
    let relay = Arc::new(UdpSocket::bind("127.0.0.1:0").await.expect("bind"));
    let sink = Sink::Udp(relay.clone(), "127.0.0.1:9".parse().expect("addr"));
    let at = relay.local_addr().expect("addr");
    Arc::new(Allocation::new(
        &authed(user),
        relay,
        at,
        sink,
        [0; 12],
        expires,
    ))
}

fn udp(port: u16) -> Client {
    Client::Udp(SocketAddr::from(([127, 0, 0, 1], port)))
}

#[tokio::test]
async fn quotas_per_user_and_per_node() {
    let later = Instant::now() + Duration::from_secs(60);
    let t = Table::new(2, 3);
    t.insert(udp(1), alloc("a", later).await).expect("1st");
    t.insert(udp(2), alloc("a", later).await).expect("2nd");
    assert_eq!(t.room_for("a"), Err(Full::User));
    assert_eq!(t.insert(udp(3), alloc("a", later).await), Err(Full::User));
    t.insert(udp(3), alloc("b", later).await)
        .expect("b's first");
    assert_eq!(t.room_for("c"), Err(Full::Node));
    assert_eq!(t.insert(udp(4), alloc("c", later).await), Err(Full::Node));
    t.remove(&udp(1));
    assert_eq!(t.room_for("a"), Ok(()), "a removal frees the user's share");
    assert_eq!(t.len(), 2);
}

#[tokio::test]
async fn sweep_frees_expired_allocations_and_their_quota() {
    let now = Instant::now();
    let t = Table::new(1, 10);
    t.insert(udp(1), alloc("a", now + Duration::from_millis(10)).await)
        .expect("insert");
    t.insert(udp(2), alloc("b", now + Duration::from_secs(60)).await)
        .expect("insert");
    assert_eq!(t.room_for("a"), Err(Full::User));
    assert_eq!(t.sweep(now), 0);
    assert_eq!(t.sweep(now + Duration::from_millis(20)), 1);
    assert!(t.get(&udp(1)).is_none() && t.get(&udp(2)).is_some());
    assert_eq!(t.room_for("a"), Ok(()));
}

#[tokio::test]
async fn permissions_and_channels_are_bounded_and_expire() {
    let now = Instant::now();
    let a = alloc("a", now + Duration::from_secs(60)).await;
    let ip = |i: u32| IpAddr::from(std::net::Ipv4Addr::from(0x0A00_0000 + i));
    for i in 0..MAX_PEERS as u32 {
        a.permit(ip(i), now).expect("permit");
    }
    assert_eq!(a.permit(ip(999), now), Err(Full::Peers));
    a.permit(ip(0), now).expect("refreshing one held is fine");
    assert!(a.permitted(ip(3), now));
    assert!(!a.permitted(ip(3), now + PERMISSION_LIFETIME));
    // After they expire there is room again.
    a.permit(ip(999), now + PERMISSION_LIFETIME)
        .expect("room after expiry");

    let later = now + PERMISSION_LIFETIME;
    let peer = |p: u16| SocketAddr::from(([10, 0, 0, 1], p));
    a.bind(0x4000, peer(1), later).expect("bind");
    assert_eq!(a.channel_peer(0x4000, later), Some(peer(1)));
    assert_eq!(a.channel_of(peer(1), later), Some(0x4000));
    assert_eq!(a.bind(0x4000, peer(2), later), Err(Full::ChannelConflict));
    assert_eq!(a.bind(0x4001, peer(1), later), Err(Full::ChannelConflict));
    a.bind(0x4000, peer(1), later).expect("refresh");
    assert_eq!(a.channel_peer(0x4000, later + CHANNEL_LIFETIME), None);
}
