#!/bin/sh
# A swamp worker started over SSH, from your machine: the guide's SSH recipe (docs/operations.md,
# "Deploy a worker") with one change: the token goes through the SSH connection's standard input
# (--token-file /dev/stdin) instead of on a command line. Install the package on worker-host
# first, keep the token in a file only you can read, then run this line (or this file):
#
#   (umask 077 && swamp worker token create build-01 | head -1 > worker.token)
#
# Replace worker-host with the host, wss://orchestrator:9090 with the URL `swamp serve` printed
# and worker.token with the token's file.
#
# Why not the guide's `ssh worker-host '... --token <token> ...'`: it works as written, but the
# token is then on three command lines: ssh's on your machine, for as long as the worker runs
# (every user of your machine can see it with `ps`, and your shell history keeps it); the remote
# login shell's (`sh -c '...'`: dash, /bin/sh on Debian, does not replace itself with the last
# command, so the whole line stays visible to every user of worker-host with `ps` for as long as
# the worker runs); and the worker's own, until it overwrites it at start. Acceptable when both
# machines have no other users, for a token that `--max-enrollments 1` binds to worker-host once
# it has enrolled. Read from standard input, the token is on no command line, in no history and
# in no file on worker-host. The worker runs as the SSH user, and so do its steps (for steps as
# an unprivileged account of their own, use the package's systemd unit on worker-host).
ssh worker-host 'swamp worker connect wss://orchestrator:9090 --token-file /dev/stdin --cache-dir /var/lib/swamp-worker' < worker.token
