#pragma once

// What the parts of RawWebSocket (reading, the handshake, writing) share: RFC 6455 opcodes and
// the close codes it sends. Internal to core/server/transport/.

#include <QtGlobal>

namespace Swamp::WebSocketFrames {

enum Opcode : int {
    OpContinuation = 0x0,
    OpText = 0x1,
    OpBinary = 0x2,
    OpClose = 0x8,
    OpPing = 0x9,
    OpPong = 0xA,
};

constexpr quint16 CloseGoingAway = 1001;
constexpr quint16 CloseProtocolError = 1002;
constexpr quint16 CloseNoStatus = 1005;
constexpr quint16 CloseInvalidPayload = 1007;
constexpr quint16 CloseTooBig = 1009;
constexpr qsizetype MaxCloseReasonBytes = 123;
constexpr qsizetype ScratchBytes = 64 * 1024;

// The first bytes of a frame, decoded (RFC 6455 5.2).
struct FrameHeader
{
    quint64 length = 0; // of the payload
    qsizetype size = 2; // of the header, the masking key included
    int opcode = 0;
    bool final = false;
    bool reserved = false; // one of RSV1-3 is set
    bool masked = false;

    bool isControl() const { return opcode & 0x8; }
};

} // namespace Swamp::WebSocketFrames
