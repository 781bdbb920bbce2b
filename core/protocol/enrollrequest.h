#pragma once

#include "common/labels.h"
#include "common/result.h"

#include <QJsonObject>
#include <QString>

namespace Swamp::Protocol {

// The worker's first frame on /v1/worker (docs/protocol.md, "enroll"): written by the worker
// agent and the bench's simulated worker, read and validated by the orchestrator, all here.
struct EnrollRequest
{
    QString id;         // request id: 1–64 characters, echoed in the reply
    int protocol = 0;   // the wire protocol version
    QString version;    // the swamp version: must equal the orchestrator's
    QString token;      // "<name>.<secret>" (its shape is checked with the token, SPEC §4 order)
    QString machineId;  // a UUID
    QString machineKey; // 64 lowercase hex: the machine's credential (worker/machineidentity.h)
    QString instanceId; // 1–64 printable ASCII characters, new for every process
    QString hostname;   // 1–255 characters, no control characters
    QString platform;   // 1–64 of [A-Za-z0-9._+-], e.g. "linux"
    QString arch;       // the same, e.g. "x86_64"
    Labels labels;      // at most 64, the rules of checkLabel()
    int capacity = 1;   // 1–1024 slots
    QString name;       // optional: the worker name asked for (validateWorkerName()); empty: the token's

    QJsonObject toJson() const;

    // The version fields alone, read whatever the rest holds: an orchestrator of another version
    // answers protocol_mismatch before it judges the frame's shape (which may have changed).
    static QString versionOf(const QJsonObject &frame);
    static int protocolOf(const QJsonObject &frame);

    // Every field present and of its type and size. Error "invalid_enroll" (permanent: the same
    // worker would send the same frame again) naming the field, e.g.
    //   invalid enroll frame: "hostname" is missing — <fix>
    static Result<EnrollRequest> fromJson(const QJsonObject &frame);
};

inline constexpr qint64 MaxCapacity = 1024;
inline constexpr qsizetype MaxWorkerLabels = 64;

} // namespace Swamp::Protocol
