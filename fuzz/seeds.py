#!/usr/bin/env python3
"""Writes the fuzz targets' seed corpora (fuzz/corpus/<target>/) from the tests' samples.

Usage: python3 fuzz/seeds.py [openapi.json]
The REST target's seeds pick routes by their index in the server's OpenAPI document, so they are
written only when that document is given (GET /api/v1/openapi.json of a running server, as
scripts/test-api-fuzz.sh starts one). The files are committed; run this again when the samples
or the input formats of the targets change. Image seeds are made with ffmpeg when it is there.
"""
import base64, hashlib, hmac, json, os, re, shutil, struct, subprocess, sys, tempfile, zlib

ROOT = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(ROOT)


def write(target, name, data):
    d = os.path.join(ROOT, "corpus", target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def signaling():
    # Every r#"..."# sample of crates/proto's parser tests, and the full samples' JSON.
    src = open(os.path.join(REPO, "crates/proto/src/parse.rs")).read()
    samples = re.findall(r'r#"(\{.*?\})"#', src)
    for i, s in enumerate(samples):
        write("signaling", f"sample-{i:02}.json", s)
    write("signaling", "join-full.json", json.dumps({"type": "join", "room": "Café-Team",
        "display_name": "Ada \u200dLovelace", "version": 1, "access_token": "t", "password": "p",
        "resume_token": "r", "mic_muted": False, "camera_muted": True}))
    write("signaling", "chat.json", json.dumps({"type": "chat_send", "text": "hi\nthere", "client_msg_id": "c-1"}))


def b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def jwt():
    secret = b"0123456789abcdef0123456789abcdef"
    header = b'{"alg":"HS256","typ":"JWT","kid":"k1"}'
    claims = [
        {"sub": "user-42", "room": "team", "exp": 4102444800},
        {"sub": "user-42", "name": "Ada", "room": "Team", "exp": 4102444800, "nbf": 1, "iat": 1, "jti": "j1",
         "grants": {"join": True, "publish": ["microphone", "screen"], "chat": False, "subscribe": True,
                    "room_admin": False, "hidden": False, "record": False}},
        {"sub": "u", "room": "team", "exp": 1},
        {"sub": "u", "room": "team", "exp": 4102444800, "grants": {"publish": True, "can_update_metadata": True}},
    ]
    for i, c in enumerate(claims):
        body = json.dumps(c, separators=(",", ":")).encode()
        write("jwt", f"signed-{i}", b"\x01team\x00" + body)
        write("jwt", f"header-{i}", b"\x02team\x00" + header + b"\x00" + body)
        write("jwt", f"foreign-{i}", b"\x03team\x00" + body)
        msg = (b64(header) + "." + b64(body)).encode()
        sig = b64(hmac.new(secret, msg, hashlib.sha256).digest())
        write("jwt", f"token-{i}", b"\x00team\x00" + msg + b"." + sig.encode())
    write("jwt", "none", b"\x00team\x00" + (b64(b'{"alg":"none","kid":"k1"}') + "." + b64(b"{}") + ".").encode())


def unescape(rust):
    """The text of a Rust string literal's body (NUL, the seeds' separator, becomes U+0001)."""
    simple = {"r": "\r", "n": "\n", "t": "\t", '"': '"', "\\": "\\", "0": "\x01"}
    def one(m):
        if m.group(1):
            return chr(max(int(m.group(1), 16), 1))
        return simple[m.group(2)]
    return re.sub(r'\\(?:u\{([0-9a-fA-F]+)\}|(.))', one, rust)


def files():
    src = open(os.path.join(REPO, "crates/server/src/files/name.rs")).read()
    names = re.findall(r'sanitize\("((?:[^"\\]|\\.)*)"\)', src)
    for i, n in enumerate(names):
        write("files", f"name-{i:02}", unescape(n).encode() + b"\x00hello\n")
    heads = {"html": b"<!doctype html><script>x</script>", "svg": b"<?xml version='1.0'?><svg/>",
             "pdf": b"%PDF-1.4\n", "zip": b"PK\x03\x04", "riff": b"RIFF\x00\x00\x00\x00WEBPVP8 ",
             "mp4": b"\x00\x00\x00\x18ftypmp42"}
    for k, v in heads.items():
        write("files", f"head-{k}", b"file." + k.encode() + b"\x00" + v)
    # A PNG of 3x2 pixels, by hand.
    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
    raw = b"".join(b"\x00" + b"\xc8\x1e\x1e" * 3 for _ in range(2))
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 3, 2, 8, 2, 0, 0, 0)) \
        + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
    write("files", "image-png", b"red.png\x00" + png)
    gif = (b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\x00\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00"
           b"\x00\x02\x02D\x01\x00;")
    write("files", "image-gif", b"dot.gif\x00" + gif)
    if shutil.which("ffmpeg"):
        with tempfile.TemporaryDirectory() as t:
            for ext in ["jpg", "webp"]:
                out = os.path.join(t, "x." + ext)
                r = subprocess.run(["ffmpeg", "-loglevel", "error", "-f", "lavfi", "-i", "color=c=red:s=8x6",
                                    "-frames:v", "1", out])
                if r.returncode == 0:
                    write("files", f"image-{ext}", f"x.{ext}".encode() + b"\x00" + open(out, "rb").read())


def stun_request(username, integrity):
    # As crates/media/tests/sfu/garbage.rs builds one.
    name = username.encode()
    attrs = struct.pack(">HH", 6, len(name)) + name
    attrs += b"\x00" * (-len(attrs) % 4)
    attrs += struct.pack(">HHI", 0x24, 4, 0x6E0001FF)
    attrs += struct.pack(">HH", 0x25, 0)  # USE-CANDIDATE
    attrs += struct.pack(">HHQ", 0x802A, 8, 0x1234)  # ICE-CONTROLLING
    if integrity:
        attrs += struct.pack(">HH", 8, 20) + b"\xab" * 20
    return struct.pack(">HH", 1, len(attrs)) + b"\x21\x12\xa4\x42" + b"\x07" * 12 + attrs


def stun():
    req = stun_request("x:y", True)
    write("stun", "signed-alice", b"\x00" + req)
    write("stun", "signed-stranger", b"\x01" + req)
    write("stun", "signed-username", b"\x04" + b"nobody:x\n" + req)
    write("stun", "raw", b"\x06" + req)
    write("stun", "raw-indication", b"\x06" + b"\x00\x11" + req[2:])
    write("stun", "raw-rtp", b"\x06" + bytes([0x80, 96, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2]) + b"\x55" * 40)
    write("stun", "raw-dtls", b"\x06" + bytes([22, 0xFE, 0xFD, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4]) + b"\x01\x00\x00\x00")


def ice_tcp():
    req = stun_request("x:y", True)
    frame = struct.pack(">H", len(req)) + req
    rtp = bytes([0x80, 96, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2]) + b"\x55" * 40
    write("ice_tcp", "signed-stun", b"\x01" + frame)
    write("ice_tcp", "stun-then-rtp", b"\x01" + frame + struct.pack(">H", len(rtp)) + rtp)
    write("ice_tcp", "raw", b"\x00" + frame)
    write("ice_tcp", "cut", b"\x00" + frame[:30])


def vp8_frame(key, size):
    # As crates/media/tests/sfu/client.rs makes one: frame tag, keyframe start code and size.
    v = bytes([0x10, 0, 0, 0x9D, 0x01, 0x2A]) + struct.pack("<HH", 320, 180) if key else bytes([0x11, 0, 0])
    return v + b"CNV\x01\x00" + bytes(range(size % 256))[: size]


def rtp_write(flags, pt_pick, seq_step, time_step, payload, level=None):
    out = bytes([0, flags, pt_pick, seq_step & 0xFF]) + struct.pack(">H", time_step)
    if flags & 0x10:
        out += bytes([level or 0])
    return out + struct.pack(">H", len(payload)) + payload


def rtp():
    opus = b"A\x01" + bytes(range(78))
    # VP8 payload descriptor: S bit (start of partition), then the frame.
    vp8_key = b"\x10" + vp8_frame(True, 60)
    vp8_delta = b"\x10" + vp8_frame(False, 40)
    audio = b"".join(rtp_write(0x10 | 0x20, 0, 1, 960, opus, 30) for _ in range(3))
    write("rtp", "audio", audio + b"\x03\x14")
    for layer in range(3):
        flags = 1 | (layer << 1) | 0x40
        video = rtp_write(flags, 0, 1, 3000, vp8_key) + rtp_write(flags, 0, 1, 3000, vp8_delta)
        write("rtp", f"video-layer-{layer}", video + b"\x03\x21")
    write("rtp", "other-codecs", b"".join(rtp_write(1 | 0x40, i, 1, 3000, vp8_key) for i in range(1, 6)))
    write("rtp", "reorder", rtp_write(1, 0, 5, 3000, vp8_key) + rtp_write(1, 0, (-3) & 0xFF, 0, vp8_delta))
    write("rtp", "raw", b"\x02" + struct.pack(">H", 52) + bytes([0x80, 96, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2]) + b"\x55" * 40)


def payload_params(pt, resend, codec, clock_rate, channels, video, fmt):
    # str0m's PayloadParams in its serde JSON form, fields in declaration order.
    keys = ["min_p_time", "stereo", "sprop_stereo", "use_inband_fec", "use_dtx", "level_asymmetry_allowed",
            "packetization_mode", "profile_level_id", "profile_id", "profile", "level_idx", "tier",
            "h265_profile_tier_level", "h266_profile_tier_level", "sprop_max_don_diff", "telephone_event_max",
            "octet_align", "mode_set"]
    spec = {"codec": codec, "clock_rate": clock_rate, "channels": channels, "format": {k: fmt.get(k) for k in keys}}
    p = {"pt": pt, "resend": resend, "spec": spec, "fb_transport_cc": True, "fb_nack": video, "fb_pli": video,
         "fb_fir": video, "fb_remb": video, "red": None, "locked": False}
    return json.dumps(p, separators=(",", ":")).encode()


def rw_id(s):
    return bytes([len(s)]) + s


def rw_str(s):
    return struct.pack(">H", len(s)) + s


def rw_layer(rid):
    return b"\x00" if rid is None else bytes([len(rid) + 1]) + rid


def rw_packet(publisher, mid, rid, flags, seq, time, hz, payload, level=None, params=None):
    # The layout is in crates/media/src/link/wire.rs; flags: 0x02 level, 0x10 params follow.
    out = b"\x01\x04" + struct.pack(">I", publisher) + rw_id(mid) + rw_layer(rid) + bytes([flags])
    out += struct.pack(">QQI", seq, time, hz)
    if flags & 0x02:
        out += struct.pack(">b", level)
    if flags & 0x10:
        out += rw_str(params)
    return out + struct.pack(">I", len(payload)) + payload


def relay_wire():
    # An input is messages, each a two-byte length and its bytes (see fuzz_targets/relay_wire.rs).
    def frames(*msgs):
        return b"".join(struct.pack(">H", len(m)) + m for m in msgs)

    opus = payload_params(111, None, "Opus", 48000, 2, False, {"min_p_time": 10, "use_inband_fec": True})
    vp8 = payload_params(96, 97, "Vp8", 90000, None, True, {})

    def publish(mid, kind, source, rids):
        head = b"\x01\x01" + rw_str("café-team".encode()) + struct.pack(">I", 7)
        head += rw_str(b"p_abc") + rw_str(b"p_abc-" + mid) + rw_id(mid) + bytes([kind, source, len(rids)])
        return head + b"".join(rw_id(r) for r in rids)

    def audio(seq, flags=0x02 | 0x04 | 0x08, params=None):
        return rw_packet(7, b"0", None, flags | (0x10 if params else 0), seq, seq * 960, 48000,
                         b"A\x01" + bytes(range(40)), level=-30, params=params)

    write("relay_wire", "audio", frames(publish(b"0", 0, 0, []), audio(1, params=opus), audio(2), audio(3, 0x02)))
    key = b"\x90\xe0\x81\x2c\x07\x00" + vp8_frame(True, 60)
    delta = b"\x90\xe0\x81\x2d\x07\x00" + vp8_frame(False, 40)
    layers = b"\x01\x05" + struct.pack(">I", 7) + rw_id(b"1") + b"\x02"
    layers += rw_layer(b"l") + struct.pack(">QQB", 150000, 200000, 3) + struct.pack(">II", 320, 180)
    layers += rw_layer(b"h") + struct.pack(">QQB", 0, 0, 0)
    demand = b"\x01\x06" + struct.pack(">I", 3) + rw_id(b"1") + b"\x02" + rw_layer(b"m") + rw_layer(None)
    keyframe = b"\x01\x07" + struct.pack(">I", 3) + rw_id(b"1") + rw_layer(b"h")
    write("relay_wire", "video", frames(
        publish(b"1", 1, 1, [b"l", b"m", b"h"]),
        rw_packet(7, b"1", b"h", 0x01 | 0x10, 70000, 1 << 33, 90000, key, params=vp8),
        rw_packet(7, b"1", b"h", 0x01, 70001, (1 << 33) + 3000, 90000, delta),
        layers, demand, keyframe))
    unpublish = b"\x01\x02" + struct.pack(">I", 7) + rw_id(b"0")
    left = b"\x01\x03" + struct.pack(">I", 7)
    # After `left` the publisher's parameters are forgotten: the last packet is refused.
    write("relay_wire", "leave", frames(audio(1, params=opus), unpublish, audio(2, params=opus), left, audio(3)))
    write("relay_wire", "reset", frames(audio(1, 0x02 | 0x20, params=opus), audio(2)))
    write("relay_wire", "cut", frames(audio(1, params=opus)[:-7], audio(2)))


CHROME_OFFER = "\r\n".join([
    "v=0", "o=- 4611731400430051336 2 IN IP4 127.0.0.1", "s=-", "t=0 0", "a=group:BUNDLE 0 1",
    "a=extmap-allow-mixed", "a=msid-semantic: WMS stream",
    "m=audio 9 UDP/TLS/RTP/SAVPF 111 63", "c=IN IP4 0.0.0.0", "a=rtcp:9 IN IP4 0.0.0.0",
    "a=ice-ufrag:abcd", "a=ice-pwd:abcdefghijklmnopqrstuvwx", "a=ice-options:trickle",
    "a=fingerprint:sha-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF",
    "a=setup:actpass", "a=mid:0", "a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level",
    "a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01",
    "a=sendonly", "a=msid:stream audio", "a=rtcp-mux", "a=rtpmap:111 opus/48000/2", "a=rtcp-fb:111 transport-cc",
    "a=fmtp:111 minptime=10;useinbandfec=1", "a=rtpmap:63 red/48000/2", "a=fmtp:63 111/111", "a=ssrc:1001 cname:x",
    "m=video 9 UDP/TLS/RTP/SAVPF 96 97", "c=IN IP4 0.0.0.0", "a=rtcp:9 IN IP4 0.0.0.0",
    "a=ice-ufrag:abcd", "a=ice-pwd:abcdefghijklmnopqrstuvwx", "a=ice-options:trickle",
    "a=fingerprint:sha-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF",
    "a=setup:actpass", "a=mid:1", "a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid",
    "a=extmap:10 urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id",
    "a=extmap:11 urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id", "a=sendonly", "a=msid:stream video",
    "a=rtcp-mux", "a=rtcp-rsize", "a=rtpmap:96 VP8/90000", "a=rtcp-fb:96 goog-remb", "a=rtcp-fb:96 transport-cc",
    "a=rtcp-fb:96 ccm fir", "a=rtcp-fb:96 nack", "a=rtcp-fb:96 nack pli", "a=rtpmap:97 rtx/90000", "a=fmtp:97 apt=96",
    "a=rid:l send", "a=rid:m send", "a=rid:h send", "a=simulcast:send l;m;h", "",
])


def sdp():
    write("sdp", "chrome-offer", b"\x00\x02" + b"\x100" + b"\x111" + CHROME_OFFER.encode())
    write("sdp", "chrome-offer-undeclared", b"\x00\x00" + CHROME_OFFER.encode())
    write("sdp", "chrome-offer-port0", b"\x00\x00" + CHROME_OFFER.replace("m=video 9", "m=video 0").encode())
    write("sdp", "str0m-offer", b"\x01\x00\x00")
    write("sdp", "str0m-offer-edited", b"\x01\x00\x02\x01\x05a=recvonly\n\x00\x03\x00")
    write("sdp", "str0m-offer-screen", b"\x01\x01\x01\x16" + b"1" + b"\x00")
    write("sdp", "answer-raw", b"\x02v=0\r\n")
    write("sdp", "answer-genuine", b"\x03\x00")
    write("sdp", "answer-edited", b"\x03\x02\x01\x04a=inactive\n\x00\x06\n")
    write("sdp", "candidate", b"\x04candidate:1 1 udp 2122260223 192.0.2.1 54321 typ host")
    write("sdp", "candidate-tcp", b"\x04a=candidate:2 1 tcp 1518280447 192.0.2.1 9 typ host tcptype active")
    write("sdp", "candidate-end", b"\x04")


def rest(doc_path):
    doc = json.load(open(doc_path))
    routes = []
    for path, item in doc["paths"].items():
        for m in ["get", "put", "post", "delete", "patch"]:
            if m in item and not (m == "post" and path == "/api/v1/webhooks"):
                routes.append((m, path))
    def seed(name, method, path, flags, params=(), query=b"", extra=b"", body=b""):
        i = routes.index((method, path))
        data = bytes([i, flags]) + b"".join(p + b"\n" for p in params) + query + b"\n" + extra + b"\n" + body
        write("rest", name, data)
    key, cookie, json_ct = 1, 2, 4
    for method, path in routes:
        n = path.count("{")
        name = (method + path).replace("/", "_").replace("{", "").replace("}", "")
        seed(name, method, path, key | json_ct, params=[b"team"] * n)
    bodies = {
        ("post", "/api/v1/rooms"): b'{"title":"Team","access":"invited","invited":["ada@example.com"],"lobby":true}',
        ("post", "/api/v1/rooms/{name}"): b'{"title":"Team","password":"pw","max_participants":10,"starts_at":null,"co_hosts":[],"empty_room_timeout":30}',
        ("patch", "/api/v1/rooms/{name}"): b'{"lobby":false,"password":null,"record_on_connect":true}',
        ("post", "/api/v1/tokens"): b'{"room":"team","identity":"u1","name":"Ada","ttl_secs":600,"grants":{"publish":["microphone"],"chat":true}}',
        ("post", "/api/v1/keys"): b'{"name":"ci"}',
        ("post", "/api/v1/auth/signup"): b'{"email":"ada@example.com","password":"correct horse battery","display_name":"Ada"}',
        ("post", "/api/v1/rooms/{name}/participants/{id}/mute"): b'{"source":"microphone"}',
    }
    for (method, path), body in bodies.items():
        if (method, path) in routes:
            name = "body" + (method + path).replace("/", "_").replace("{", "").replace("}", "")
            params = [b"team"] * path.count("{")
            seed(name, method, path, key | json_ct, params=params, body=body)
            seed(name + "-cookie", method, path, cookie | json_ct, params=params, body=body)
    for method, path in routes:
        if "meetings" in path and method == "get" and "{" not in path:
            seed("query-meetings", method, path, key, query=b"limit=5&room=team&before=abc")
    write("rest", "webhook-url", b"\xffhttps://hooks.example.com:8443/path?x=1")


def turn_message(method, cls, attrs):
    # STUN type bits: method M0-M11 interleaved with class C0 (bit 4) and C1 (bit 8), RFC 8489 5.
    t = (method & 0x0F) | ((method & 0x70) << 1) | ((method & 0xF80) << 2) | ((cls & 1) << 4) | ((cls & 2) << 7)
    body = b""
    for at, v in attrs:
        body += struct.pack(">HH", at, len(v)) + v + b"\x00" * (-len(v) % 4)
    return struct.pack(">HH", t, len(body)) + b"\x21\x12\xa4\x42" + b"\x05" * 12 + body


def xor_peer(ip, port):
    a = bytes(int(x) for x in ip.split("."))
    xa = bytes(x ^ y for x, y in zip(a, b"\x21\x12\xa4\x42"))
    return struct.pack(">BBH", 0, 1, port ^ 0x2112) + xa


def turn():
    # Mode byte: bit 0 re-signs with a participant's credential (see fuzz_targets/turn.rs).
    alloc = turn_message(0x003, 0, [(0x0019, b"\x11\x00\x00\x00"), (0x000D, struct.pack(">I", 600))])
    write("turn", "allocate-unsigned", b"\x00" + alloc)
    write("turn", "allocate-signed", b"\x03" + alloc)
    perm = turn_message(0x008, 0, [(0x0012, xor_peer("192.0.2.1", 40000)), (0x0012, xor_peer("127.0.0.1", 8080))])
    write("turn", "create-permission-signed", b"\x03" + perm)
    bind = turn_message(0x009, 0, [(0x000C, b"\x40\x00\x00\x00"), (0x0012, xor_peer("198.51.100.9", 5000))])
    write("turn", "channel-bind-signed", b"\x05" + bind)
    send = turn_message(0x006, 1, [(0x0012, xor_peer("192.0.2.1", 40000)), (0x0013, b"hello")])
    write("turn", "send-indication", b"\x00" + send)
    refresh = turn_message(0x004, 0, [(0x000D, b"\x00\x00\x00\x00")])
    write("turn", "refresh-zero-signed", b"\x01" + refresh)
    write("turn", "channel-data", b"\x00" + b"\x40\x00\x00\x05hello\x00\x00\x00")


if __name__ == "__main__":
    signaling(); jwt(); files(); stun(); ice_tcp(); rtp(); sdp(); turn(); relay_wire()
    if len(sys.argv) > 1:
        rest(sys.argv[1])
