//! The commented example printed by `convene config default` and kept in `docs/config.example.toml`.
//! A test parses it and checks that it equals `Config::default()`, so the two cannot drift.

pub const DEFAULT_TEMPLATE: &str = r#"# Convene configuration. Every key is optional: the values shown are the defaults.
# Each key can also be set from the environment as CONVENE_<SECTION>_<KEY> (for example
# CONVENE_SERVER_LISTEN=0.0.0.0:8080; lists are comma-separated) and on the command line with
# `--set section.key=value` or the named flags of `convene serve --help`.
# Flags win over the environment, the environment over this file. An unknown key is an error.

[server]
# Address for HTTP and WebSocket signaling. Use 0.0.0.0:8080 to accept other machines
# (browsers then need HTTPS for camera and microphone: see [tls]).
listen = "127.0.0.1:8080"
# Names this node in the meeting records; at start-up the node closes the records it left open.
# Unique per node. In a cluster ([cluster] redis_url set), leaving "node-1" makes the node pick an
# id of its own at first start and keep it in [cluster] node_id_file; a single node stays "node-1".
node_id = "node-1"
# Seconds a graceful shutdown (SIGTERM) may take: participants are told and records closed.
drain_deadline_secs = 20
# Seconds a client has, from connecting or from the first byte of a request, to send the whole
# request head (and to finish a TLS handshake); a slower connection is closed.
http_header_timeout_secs = 10
# Seconds an HTTP keep-alive connection may sit idle (no request in progress, no bytes moving)
# before it is closed. WebSocket connections are not affected: see [websocket].
http_idle_timeout_secs = 60
# Page origins, e.g. ["https://meet.example.org"], whose pages may open /ws besides the server's
# own (a page's origin must equal the scheme and Host it was served with). Needed behind a proxy
# that terminates TLS or rewrites Host. Requests without an Origin header (non-browser clients)
# are always let through: only browsers send one, and only browsers carry a visitor's session.
public_origins = []
# /metrics tells who is in which room: it answers only requests from loopback (a Prometheus on this
# machine) unless this token is set; then `Authorization: Bearer <token>` reads it from anywhere.
metrics_token = ""

[connections]
# TCP connections on the HTTP port (HTTP, WebSockets and ICE-TCP alike) are counted when accepted,
# before a byte is read; one over a limit is closed at once. At start the server raises its
# open-file limit (the soft RLIMIT_NOFILE) to the hard limit and logs both.
# Connections open at once; 0: as many as the open-file limit allows after a share for the
# database, files, recordings and media (an eighth of it, at least 256) and the reserve below.
# A larger value is lowered to that, with a warning.
max_total = 0
# Connections one address may hold open (IPv6: one /64); 0: no limit. Loopback is exempt when
# limits.exempt_loopback is (a reverse proxy on this machine brings everyone from loopback).
max_per_address = 256
# Connections accepted beyond max_total that may only ask for /healthz, /readyz, /metrics and the
# REST API with an Authorization header (an operator's API key), one request each; the rest get
# 503. Health checks and admin tools reach a server whose connections are all taken.
reserve = 16

[database]
# sqlite://<path> (created and migrated at start-up) or postgres://user@host:port/db.
url = "sqlite://./data/convene.db"
# Seconds between "still alive" marks on open records; a crash closes them at the last mark.
heartbeat_secs = 5
# PostgreSQL: seconds a query waits for a connection (connecting included) before it fails. During
# a database outage a chat message or a join is refused (storage_error) after this long, while its
# sender still waits; the pool reconnects by itself when the database is back. From 1 to 300.
acquire_timeout_secs = 5
# Days a meeting's record (its sessions and chat) is kept after the meeting ended; older ones are
# deleted, checked hourly. 0 keeps every record.
retention_days = 0

[rooms]
# Most participants in one room; the next join gets `room_full`.
max_participants = 100
# Create a room when someone opens its link. When false, only existing rooms can be joined.
create_on_join = true
# Seconds an empty room lives on, so a page reload does not end the meeting.
empty_grace_secs = 30
# Seconds a dropped participant may reconnect with its resume token and keep its identity.
resume_window_secs = 30
# Seconds after a server restart (or crash) during which the people of its meetings come back as
# themselves, to the same meeting and chat; the browser app keeps retrying for this long.
restart_window_secs = 300
# Chat messages of the meeting sent to a participant when joining.
chat_history = 100
# Each client reports its connection quality (a level and figures); the others see it in its
# participant. A level change is passed on at once (at most one a second per participant); changed
# figures at the same level at most once per this many seconds per participant, so a large room
# is not flooded with updates.
quality_figures_interval_secs = 10

[limits]
# Largest WebSocket frame in bytes; a larger one closes the connection with code 1009. A browser's SDP
# answer grows by ~4 KB per other participant, so this must hold max_participants of them.
max_frame_bytes = 1048576
# Longest chat message, in characters.
chat_max_chars = 4000
# Longest display name, in characters (after trimming).
display_name_max_chars = 64
# Longest room name, in characters.
room_name_max_chars = 64
# Messages per second a connection may send, and the burst it may save up.
messages_per_sec = 20
messages_burst = 40
# Messages dropped for rate within 10 seconds after which the connection is closed (code 1008).
rate_limit_close_after = 100
# Joins one address may make per minute (joined or refused); more get `rate_limited`. 0: no limit.
joins_per_minute_per_address = 120
# Guests (not signed in, no access token) one address may have in one room at once; more get
# `too_many_from_address`. An office behind one NAT shares an address, hence generous. 0: no limit.
guest_seats_per_address = 50
# Loopback addresses are exempt from the two limits above and from connections.max_per_address
# (load tools and tests on this machine, a reverse proxy on it).
# Convene does not read X-Forwarded-For: behind a reverse proxy every client has the proxy's address.
exempt_loopback = true
# Rooms one account may plan per hour (POST /api/v1/rooms); more get `rate_limited`. 0: no limit.
rooms_per_hour_per_account = 60
# Reactions (send_reaction) one participant may send per second, and how many it may send in a row;
# more get `rate_limited` and are shown to nobody. On top of messages_per_sec.
reactions_per_sec = 1.0
reactions_burst = 5

[websocket]
# Seconds between keepalive pings from the server.
ping_interval_secs = 10
# Seconds of silence after which a connection is considered dead.
idle_timeout_secs = 30

[media]
# Carry audio, video and screen share (the SFU). When false, only signaling and chat work.
enabled = true
# UDP port for all media of all participants, on the IP of server.listen (0: any free port).
udp_port = 8080
# Addresses announced to browsers as ICE candidates: the addresses clients reach this machine at.
public_ips = ["127.0.0.1"]
# Also accept media over TCP (ICE-TCP, RFC 4571) on the HTTP port, for networks that block UDP.
ice_tcp = true
# STUN and TURN servers handed to clients, e.g. ["stun:stun.example.org:3478"].
stun_urls = []
turn_urls = []
# Static TURN credentials, used when turn_secret is empty.
turn_username = ""
turn_credential = ""
# Shared secret for ephemeral TURN credentials (coturn's use-auth-secret / static-auth-secret).
turn_secret = ""
# Lifetime of ephemeral TURN credentials, in seconds.
turn_ttl_secs = 86400
# Media worker threads; 0 means one per core. Rooms are spread over them.
workers = 0
# A room with this many participants spreads over the workers: newcomers go to the least-loaded
# one, and the workers relay its media to each other, so one large room uses every core.
# Smaller rooms stay on one worker (no relaying). 0: every room stays on one worker.
room_spread_threshold = 50
# A media worker busy this share of the time (0-1, smoothed over a second or so) takes no
# newcomers, nor one whose media work (without handshakes), counting each join whose media has
# not shown in that measure yet (until 1.5 s after it connects) as one more average
# participant, would reach it. When no worker can take a join, it is refused with
# `server_busy` at once, instead of its connection timing out on an overloaded worker.
# 0: never refuse for load.
max_worker_busy = 0.9
# Media sessions (participants with audio and video) this node holds at most; 0: no bound but
# max_worker_busy. Past it a single node refuses joins with `server_busy`; in a cluster the
# newcomer's media goes to another node, and the room's nodes relay its media to each other
# (sealed with the cluster key), so one meeting can be larger than one node.
max_sessions = 0
# Seconds an ICE-TCP connection on the HTTP port has to deliver its first complete framed packet
# (the STUN request naming its participant), and a TCP connection to the TURN server ([turn]) its
# first message; a slower connection is closed.
ice_tcp_handshake_timeout_secs = 10
# Send media datagrams in batches, one system call for many (sendmmsg). Off by default: on
# loopback it measured no better than one send per datagram (docs/benchmarks-history.md).
batch_send = false
# Also hand a run of datagrams to one participant (a video frame's packets) to the kernel as one
# send that it splits up (UDP GSO); implies batch_send. Off by default: see docs/benchmarks-history.md.
gso = false
# Receive and send buffer of each media worker's UDP socket, in bytes; 0: the system's default
# (~200 KiB, about 50 ms of a busy worker's input, which a ramp of joins overflows: fan-out to
# 500 lost ~1 % of its frames). More rides out a burst while a worker is busy or loses its core,
# but under a sustained overload it queues media (4 MiB: seconds of delay instead of loss, and
# publishers' congestion control backs off): see docs/benchmarks.md. The kernel caps it at
# net.core.rmem_max / wmem_max (Debian: ~200 KiB; the log warns, raise it with sysctl).
socket_buffer_bytes = 1048576

[turn]
# The embedded TURN server (RFC 8656), for clients that neither UDP nor ICE-TCP reaches: it
# relays their media to this node's media port only. When on, every participant gets
# "turn:<public_ip>:<listen_port>?transport=udp" and "...?transport=tcp" URLs for each
# media.public_ips entry in `joined`, with a credential of its own (coturn's REST scheme).
enabled = false
# UDP and TCP port, on the IP of server.listen (0: any free port).
listen_port = 3478
realm = "convene"
# Secret the credentials are made from (HMAC-SHA1). Empty: generated once and kept in the
# database, shared by every node of a cluster.
secret = ""
# Seconds a credential is valid. Allocations are refreshed with it: a relayed call longer than
# this loses its relay.
credential_ttl_secs = 86400
# Allocations one participant, and this node for everyone, may hold at once; one more is refused
# (486 Allocation Quota Reached). max_allocations also bounds the TCP connections to the TURN
# port and the TURN-over-TLS connections to the HTTPS port, together: one more is closed at once.
max_allocations_per_user = 10
max_allocations = 1000
# Longest lifetime, in seconds, an allocation gets per Allocate or Refresh.
max_lifetime_secs = 3600
# Peer addresses (CIDRs) the relay may reach besides this node's media addresses. Loopback,
# private, link-local, multicast and other special-purpose addresses need an entry at least as
# narrow as their IANA block ("10.0.0.0/8", not "0.0.0.0/0").
allow_peers = []
# TURN over TLS (RFC 8656 with RFC 7443's ALPN "stun.turn") is served on the HTTPS port when
# [tls] is configured: for networks that let only TCP to port 443 through. `joined` then also
# offers "turns:<tls_host>?transport=tcp". The host must match the certificate's name (browsers
# check it), so it cannot be a bare IP unless the certificate names that IP. "name" or
# "name:port" (without a port: the HTTPS listener's). Empty: the host and port of the first
# "https://" entry of server.public_origins; with none, no turns: URL is offered.
tls_host = ""

[tls]
# PEM certificate chain and private key files. Empty: no certificate file.
cert = ""
key = ""
# Make a self-signed certificate at start-up, for a trial on a LAN (browsers will warn).
self_signed = false
# Names and addresses the self-signed certificate is made for.
self_signed_names = ["localhost", "127.0.0.1"]

[log]
# "text" or "json".
format = "text"
# Default log filter; RUST_LOG wins when set.
level = "info"

[auth]
# Who may make an account: "open" (anyone, in the app) or "closed" (an admin, with `convene user add`).
signup = "open"
# How long a sign-in lasts in a browser, in hours.
session_ttl_hours = 720
# Shortest password, in characters.
min_password_chars = 10
# Failed sign-ins to one account, and from one address, within signin_window_secs before further
# attempts are refused until the window has passed.
signin_failures_per_account = 5
signin_failures_per_address = 20
signin_window_secs = 900
# Keys that sign access tokens (JWT, HS256), as "KID:SECRET" with secrets of at least 32 bytes; a
# token names its key in its header's `kid`. Empty: joins with an access token are refused.
token_keys = []
# Longest lifetime of a token this server makes (`convene token create`, POST /api/v1/tokens).
token_max_ttl_secs = 86400

[webhooks]
# Where events go (docs/webhooks.md); the REST API adds more. Each:
#   [[webhooks.endpoints]]
#   url = "https://hooks.example.org/convene"
#   secret = "at least 16 characters"
#   events = ["participant_joined", "participant_left"]   # absent: every event
endpoints = []
# Deliver to loopback, link-local and private addresses too (off: refused, so that a webhook cannot
# reach the server's own network).
allow_private = false
# How long an event is retried before it is given up on, in hours.
retry_hours = 24
# The first retry waits this long (ms), doubling up to retry_max_secs.
retry_initial_ms = 1000
retry_max_secs = 300
# One delivery's time limit, in seconds, and the most of an answer that is read.
timeout_secs = 10
max_response_bytes = 65536
[files]
# Participants share files in meetings (uploaded over HTTP, kept with the meeting's record).
enabled = true
# The directory that holds the files' bytes and image previews (and compositions' videos). In a
# cluster they are in the database instead, so that every node serves what any node took.
dir = "./data/files"
# The largest file, in bytes (100 MiB); a larger one is refused with `file_too_large`.
max_file_bytes = 104857600
# The most one meeting's files may hold together, in bytes (1 GiB); the next upload past it is
# refused with `file_quota_exceeded`.
max_meeting_bytes = 1073741824
# Days a file is kept after it was shared; 0: as long as its meeting's record (database.retention_days).
retention_days = 0
# The most pixels (width x height) of an image the server decodes to make its preview; a larger
# image is refused with `image_too_large`, as a decompression bomb would be.
image_max_pixels = 50000000

[recording]
# Hosts (and access tokens with the `record` grant) may record meetings: each track to a file.
enabled = true
# The directory that holds the recordings, one folder per recording.
dir = "./data/recordings"
# Free disk space, in MiB, under which no recording or composition starts and running ones stop
# (a recording with `disk_full`).
min_free_mb = 1024
# Seconds between checks of the free space while a meeting is recorded.
disk_check_secs = 5
# Days a recording (its files and its row) is kept after it started; 0 keeps every recording.
retention_days = 0

[compose]
# Compositions: one video (MP4, H.264 and AAC) made from a meeting's recording (its newest
# finished one in [recording] dir), on request
# (`POST /api/v1/meetings/{id}/compositions` or `convene compose MEETING`), one at a time per node.
# The ffmpeg program: a name looked up in PATH, or a path. Without it, requests get a clear 503.
ffmpeg = "ffmpeg"
# ffmpeg's CPU priority (nice, 0-19): 19 leaves the CPU to the meetings in progress first.
niceness = 19
# Compositions that may wait behind the running one; more are refused with `server_busy`.
max_queued = 16
# The composition's picture (even numbers of pixels) and frames per second.
width = 1280
height = 720
fps = 25
# libx264's speed preset (ultrafast ... veryslow): faster presets make larger files.
preset = "veryfast"

[cluster]
# Several nodes on one PostgreSQL database, coordinated through Redis: any node takes any client
# (an ordinary round-robin load balancer in front), each room runs on one node, and the others relay
# its signaling there. Empty: a single node, which never connects to Redis. A cluster needs
# database.url on PostgreSQL (SQLite is refused at start-up).
redis_url = ""
# Prefix of this cluster's Redis keys, so that several clusters (or tests) can share one Redis.
key_prefix = "convene:"
# This node's HTTP address as the other nodes reach it, e.g. "http://10.0.0.5:8080" (plain HTTP:
# nodes sign their requests to each other; keep them on a private network); empty: the address
# server.listen is bound to. Media does not go through it: each node announces its own
# media.public_ips and media.udp_port to the clients of its rooms.
advertise_url = ""
# Seconds a node's lease (and each of its rooms') lasts unless renewed; renewed every third of it.
# A node silent this long is taken for dead: another node closes its records (reason node_lost).
lease_secs = 6
# Where a node keeps the id it made up at first start (when server.node_id is left at "node-1").
node_id_file = "./data/node_id"
"#;
