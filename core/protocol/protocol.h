#pragma once

#include "common/result.h"

#include <QJsonObject>
#include <QString>

// The wire protocol: JSON text frames over WebSocket, one object per frame,
// `{"type": ..., "id": ..., ...}`. docs/protocol.md is the reference.
namespace Swamp::Protocol {

inline constexpr char16_t WorkerPath[] = u"/v1/worker";
inline constexpr char16_t AdminPath[] = u"/v1/admin";

// Frame size limits (bytes of UTF-8 text). A larger frame closes that connection.
inline constexpr qint64 MaxWorkerFrameBytes = 1024 * 1024;
inline constexpr qint64 MaxAdminFrameBytes = 4 * 1024 * 1024;
// Before a connection proves a secret (a worker's `enrolled`): an enroll frame is a few
// kilobytes, 64 labels of 255 characters included.
inline constexpr qint64 MaxUnauthenticatedFrameBytes = 64 * 1024;

// WebSocket close codes in the private range.
enum CloseCode : int {
    CloseBadFrame = 4000,        // a frame failed validation
    CloseEnrollmentFailed = 4001, // an `error` frame with the reason precedes it
    CloseReplaced = 4002,        // a new process of the same machine took over the session
    CloseRevoked = 4003,         // the worker's token was revoked
    CloseRemoved = 4004,         // an operator removed the worker (`swamp worker remove`)
    CloseUnauthorized = 4401,    // admin endpoint: missing or wrong admin token
    CloseShutdown = 4503,        // orchestrator is going away
};

namespace Type {
// worker → orchestrator
inline const QString Enroll = QStringLiteral("enroll");
inline const QString Goodbye = QStringLiteral("goodbye");
inline const QString Started = QStringLiteral("started");
inline const QString Output = QStringLiteral("output");
inline const QString Finished = QStringLiteral("finished");
inline const QString Rejected = QStringLiteral("rejected");
// orchestrator → worker
inline const QString Enrolled = QStringLiteral("enrolled");
inline const QString Error = QStringLiteral("error");
inline const QString Dispatch = QStringLiteral("dispatch");
inline const QString Cancel = QStringLiteral("cancel");
inline const QString Drain = QStringLiteral("drain");
inline const QString Undrain = QStringLiteral("undrain");
inline const QString Shutdown = QStringLiteral("shutdown");
inline const QString Window = QStringLiteral("window");
inline const QString Ack = QStringLiteral("ack");
inline const QString Refused = QStringLiteral("refused");
inline const QString Stop = QStringLiteral("stop");
inline const QString Resend = QStringLiteral("resend");
// admin
inline const QString Result = QStringLiteral("result");
inline const QString Event = QStringLiteral("event");
} // namespace Type

// Parses one text frame: valid JSON, an object, a non-empty string "type", within `maxBytes`.
// Error code "bad_frame" with a reason fit for a close frame (no frame content echoed).
Swamp::Result<QJsonObject> decodeFrame(const QString &text, qint64 maxBytes);
QString encodeFrame(const QJsonObject &frame);
// The same as UTF-8, what goes on the wire.
QByteArray encodeFrameUtf8(const QJsonObject &frame);

// Required-field helpers for validation; each fails with code "bad_frame" naming the field.
Swamp::Result<QString> requireString(const QJsonObject &frame, const QString &field,
                                     qsizetype maxLength = 1024);
Swamp::Result<qint64> requireInt(const QJsonObject &frame, const QString &field, qint64 min,
                                 qint64 max);

} // namespace Swamp::Protocol
