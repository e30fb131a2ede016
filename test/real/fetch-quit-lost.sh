#!/bin/bash
# The connection dies after the DELEs, before QUIT's answer: Dovecot then
# keeps every message (no UPDATE state).  The run must say so (75) with each
# message delivered once, and the next run must delete them all without
# delivering any again.  A small proxy between client and Dovecot swallows
# the first session's QUIT and hangs up (plaintext, so it can see the
# command); the second session goes through it untouched (same port, so
# the same account state).
. "$(dirname "$0")/fetch-lib.sh"

server_clear bob
server_put bob 25 300 5000 quitlost
want=$(hashes_of "$BOB_MAILDIR")

python3 - "$POP3_PORT_STLS" "$WORK/proxy.port" <<'PY' &
import socket, sys, threading
upstream_port, port_file = int(sys.argv[1]), sys.argv[2]
ls = socket.socket()
ls.bind(("127.0.0.1", 0))
ls.listen(1)
open(port_file + ".tmp", "w").write(str(ls.getsockname()[1]))
import os; os.rename(port_file + ".tmp", port_file)
ls.settimeout(30)

def relay(client, swallow_quit):
    server = socket.create_connection(("127.0.0.1", upstream_port))
    def down():
        try:
            while True:
                data = server.recv(65536)
                if not data:
                    break
                client.sendall(data)
        except OSError:
            pass
        client.close()
    t = threading.Thread(target=down, daemon=True)
    t.start()
    buf = b""
    while True:
        data = client.recv(65536)
        if not data:
            break
        buf += data
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            if swallow_quit and line.upper().startswith(b"QUIT"):
                client.close()      # QUIT never reaches the server
                server.close()
                return
            server.sendall(line + b"\n")
    server.shutdown(socket.SHUT_WR)
    t.join(10)

for session in range(2):
    client, _ = ls.accept()
    try:
        relay(client, swallow_quit=(session == 0))
    except OSError:
        pass
PY
proxy=$!
wait_port_file "$WORK/proxy.port" proxy

conf=$WORK/mailpipe.ini
write_config "$conf"
add_account "$conf" lost bob off "$WORK/md" keep=no
sed -i "s/^port = .*/port = $(cat "$WORK/proxy.port")/" "$conf"

fetch -C "$conf"
check_eq "QUIT unanswered after DELEs: 75" "$RC" 75
check "the line says the deletion was not confirmed" grep -q "25 messages were retrieved, but the server did not confirm the deletion" "$WORK/stderr"
check_same "every message delivered once" "$(hashes_of "$WORK/md")" "$want"
check_eq "Dovecot kept all 25 (no QUIT, no UPDATE state)" "$(server_count bob)" 25

# Next run (through the proxy, now harmless): delete, deliver nothing again.
fetch -C "$conf" -v
wait "$proxy"
check_eq "next run exits 0" "$RC" 0
check "it retrieves nothing" grep -q "0 messages retrieved" "$WORK/stderr"
check "and deletes the 25" grep -q "25 deleted" "$WORK/stderr"
check "no RETR was sent" bash -c "! grep -q '^-> RETR' '$WORK/stderr'"
check_eq "the server is empty" "$(server_count bob)" 0
check_same "still every message exactly once" "$(hashes_of "$WORK/md")" "$want"
done_testing
