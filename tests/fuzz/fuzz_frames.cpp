// libFuzzer harness for Protocol::decodeFrame (core/protocol/protocol.cpp), which every text
// frame on /v1/worker and /v1/admin passes first, and the field helpers the orchestrator checks
// frames with. See docs/protocol.md ("Fuzzing").
//
// An input is a frame's text (UTF-8), decoded once with the worker limit and once with a limit
// of 64 bytes. Findings: sanitizer reports; a frame accepted without a "type" string of 1 to 64
// characters, or over the limit; an accepted frame that does not decode to itself once encoded;
// an error that is not bad_frame with one of its documented reasons; requireString() or
// requireInt() accepting a value of the wrong type or out of its bounds. Lengths are counted in
// characters (code points), as docs/protocol.md counts them, never in UTF-16 code units.

#include "fuzzsupport.h"

#include "common/text.h"
#include "protocol/protocol.h"

#include <QJsonArray>
#include <QSet>

#include <cmath>
#include <cstdint>

using namespace Qt::StringLiterals;
using Swamp::Fuzz::finding;

namespace {

void checkFields(const QJsonObject &frame)
{
    for (auto it = frame.begin(); it != frame.end(); ++it) {
        // The value the helpers see: what a lookup by the key finds. Qt 6.4's parser can build an
        // object with a key (replacement characters, a Latin-1 letter) that iteration shows and a
        // lookup by the same key misses; the helpers then read the field as absent, as for any
        // name that is not one of the protocol's (all of them ASCII).
        const QJsonValue value = frame.value(it.key());
        const auto text = Swamp::Protocol::requireString(frame, it.key(), 16);
        if (text && (!value.isString() || Swamp::characterCount(*text) > 16 || *text != value.toString()))
            finding("requireString() accepted what it must refuse");
        const auto number = Swamp::Protocol::requireInt(frame, it.key(), -1000, 1000);
        if (number && (!value.isDouble() || *number < -1000 || *number > 1000 ||
                       double(*number) != value.toDouble())) {
            finding("requireInt() accepted what it must refuse");
        }
        if (!number && value.isDouble() && std::abs(value.toDouble()) <= 1000 &&
            value.toDouble() == std::trunc(value.toDouble())) {
            finding("requireInt() refused a whole number in its bounds");
        }
    }
}

void decode(const QString &text, qint64 maxBytes)
{
    static const QSet<QString> reasons{u"too_large"_s, u"invalid_json"_s, u"not_an_object"_s,
                                       u"missing_type"_s};
    const auto frame = Swamp::Protocol::decodeFrame(text, maxBytes);
    if (!frame) {
        const Swamp::Error &error = frame.error();
        if (error.code != u"bad_frame" || error.message.isEmpty() ||
            !reasons.contains(error.details.value(u"reason"_s).toString())) {
            finding("an error that is not bad_frame with a documented reason");
        }
        return;
    }
    const QJsonValue type = frame->value(u"type"_s);
    if (!type.isString() || type.toString().isEmpty() || Swamp::characterCount(type.toString()) > 64)
        finding("a frame accepted without a type of 1 to 64 characters");
    if (text.toUtf8().size() > maxBytes)
        finding("a frame over the limit accepted");
    const auto again = Swamp::Protocol::decodeFrame(Swamp::Protocol::encodeFrame(*frame),
                                                    std::numeric_limits<qint64>::max());
    // The same members, compared as maps: QJsonObject's == walks both in their stored order, and
    // Qt 6.4 can store the same keys (replacement characters beside other non-ASCII ones) in
    // another order once they are parsed again.
    if (!again || again->toVariantMap() != frame->toVariantMap())
        finding("an accepted frame does not decode to itself once encoded");
    checkFields(*frame);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const QString text = QString::fromUtf8(reinterpret_cast<const char *>(data), qsizetype(size));
    decode(text, Swamp::Protocol::MaxWorkerFrameBytes);
    decode(text, 64);
    return 0;
}
