#pragma once

class QTcpServer;
class QWebSocketServer;

namespace Swamp {

// A listener with thousands of connections needs more than QTcpServer's defaults:
// - a listen backlog of `backlog` (Qt's default is 50: a reconnect storm overflows it, and every
//   dropped SYN costs the worker a 1 s retransmission);
// - accepting again a second after an accept error (out of open files), which QTcpServer would
//   otherwise stop doing for good, with a warning that says what to raise.
// Call before listen().
void tuneTcpServer(QTcpServer *tcp, int backlog);

// QWebSocketServer (the TLS listener) keeps its QTcpServer and the sockets it accepts to itself,
// so what such a server needs is out of reach of its API:
// - tuneTcpServer() on its QTcpServer;
// - TCP_NODELAY on every accepted socket: our frames are small request/answer exchanges, and
//   without it Nagle's algorithm holds a frame until the peer's delayed ACK of the previous one
//   (up to 40 ms on Linux), e.g. a dispatch sent right after an ack on the same connection;
// - the clean-up of a closed socket, which QWebSocketServer does in time proportional to the
//   number of open sockets (see AcceptedSocketFilter).
// Call before listen(). Returns false (and nothing is changed) when the server's internals are
// not what this Qt version is known to have.
bool tuneListener(QWebSocketServer *server, int backlog);

} // namespace Swamp
