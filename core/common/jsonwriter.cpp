#include "common/jsonwriter.h"

#include "common/duration.h"
#include "common/largebuffer.h"

#include <QDateTime>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

#include <algorithm>
#include <cstring>
#include <type_traits>

namespace Swamp {

// Writes `c` at `out` as JSON wants it inside a string; returns the end.
static char *writeEscaped(char *out, uchar c)
{
    static constexpr char Hex[] = "0123456789abcdef";
    if (c >= 0x20 && c != '"' && c != '\\') {
        *out++ = char(c);
        return out;
    }
    *out++ = '\\';
    switch (c) {
    case '"': *out++ = '"'; break;
    case '\\': *out++ = '\\'; break;
    case '\b': *out++ = 'b'; break;
    case '\f': *out++ = 'f'; break;
    case '\n': *out++ = 'n'; break;
    case '\r': *out++ = 'r'; break;
    case '\t': *out++ = 't'; break;
    default:
        *out++ = 'u';
        *out++ = '0';
        *out++ = '0';
        *out++ = Hex[c >> 4];
        *out++ = Hex[c & 0xf];
    }
    return out;
}

namespace Internal {

void JsonBuffer::grow(qsizetype bytes)
{
    const qsizetype used = m_at ? m_at - m_out.constData() : m_out.size();
    if (m_at)
        m_out.resize(used); // (a null array would allocate for it: a writer's first room is one allocation)
    if (m_out.capacity() - used < bytes) {
        if (used + bytes >= 64 * 1024)
            reserveToAppend(m_out, bytes); // an answer: doubles, on huge pages once large
        else
            m_out.reserve(std::max(used + bytes, 2 * m_out.capacity()));
    }
    // All the room there is (a resize within the capacity neither moves nor fills the bytes).
    m_out.resize(std::max(used + bytes, m_out.capacity()));
    char *data = m_out.data();
    m_at = data + used;
    m_end = data + m_out.size();
}

namespace {

// The characters of [begin, end) (UTF-16 code units below 0x80, or UTF-8 bytes) quoted and
// escaped: room for the worst case (every one escaped as \u00XX, or none escaped when none
// needs it), then written.
template <typename Iterator>
void writeQuoted(JsonBuffer &out, Iterator begin, Iterator end)
{
    using Unit = std::make_unsigned_t<std::remove_cvref_t<decltype(*begin)>>;
    const auto needsNoEscape = [](auto c) { return Unit(c) >= 0x20 && Unit(c) != '"' && Unit(c) != '\\'; };
    const qsizetype count = end - begin;
    if (std::all_of(begin, end, needsNoEscape)) {
        // The usual text: copied as it is (std::copy: nothing to copy from an empty, null range).
        char *at = out.room(count + 2);
        *at++ = '"';
        at = std::copy(begin, end, at);
        *at++ = '"';
        out.advance(at);
        return;
    }
    char *at = out.room(count * 6 + 2);
    *at++ = '"';
    for (auto it = begin; it != end; ++it)
        at = writeEscaped(at, uchar(Unit(*it)));
    *at++ = '"';
    out.advance(at);
}

} // namespace

void writeJsonString(JsonBuffer &out, QStringView text)
{
    const char16_t *utf16 = text.utf16();
    if (std::all_of(utf16, utf16 + text.size(), [](char16_t c) { return c < 0x80; })) {
        writeQuoted(out, utf16, utf16 + text.size());
    } else if (text.isValidUtf16()) {
        // Bytes of a multi-byte UTF-8 sequence are all >= 0x80: none needs escaping.
        const QByteArray utf8 = text.toUtf8();
        writeQuoted(out, utf8.begin(), utf8.end());
    } else {
        // A lone surrogate (a peer's "\ud800") has no UTF-8; toUtf8() would write '?' and an
        // echoed request id would come back changed. Qt's writer escapes it: rare enough to ask it.
        const QByteArray array =
            QJsonDocument(QJsonArray{text.toString()}).toJson(QJsonDocument::Compact);
        out.put(array.constData() + 1, array.size() - 2);
    }
}

namespace {

// Whether `text` is printable ASCII without a quote or backslash: copied as it is. Eight bytes a
// step (SWAR: each test below is exact for the word as a whole), then the rest one by one.
bool isPlainAscii(QByteArrayView text)
{
    constexpr quint64 Ones = 0x0101010101010101ULL;
    constexpr quint64 Highs = 0x8080808080808080ULL;
    const auto hasZeroByte = [](quint64 v) { return (v - Ones) & ~v & Highs; };
    const char *at = text.data();
    const char *const end = at + text.size();
    for (; end - at >= 8; at += 8) {
        quint64 word;
        std::memcpy(&word, at, sizeof word);
        const quint64 special = (word & Highs)                    // >= 0x80
                                | ((word - Ones * 0x20) & ~word & Highs) // < 0x20
                                | hasZeroByte(word ^ (Ones * '"')) | hasZeroByte(word ^ (Ones * '\\'));
        if (special)
            return false;
    }
    return std::all_of(at, end, [](char c) { return uchar(c) >= 0x20 && uchar(c) < 0x80 && c != '"' && c != '\\'; });
}

} // namespace

void writeJsonStringUtf8(JsonBuffer &out, QByteArrayView utf8)
{
    if (isPlainAscii(utf8)) {
        // Printable ASCII without a quote or backslash (nearly every column): one look, one copy.
        char *at = out.room(utf8.size() + 2);
        *at++ = '"';
        if (!utf8.isEmpty())
            std::memcpy(at, utf8.data(), size_t(utf8.size()));
        at += utf8.size();
        *at++ = '"';
        out.advance(at);
    } else if (std::all_of(utf8.begin(), utf8.end(), [](char c) { return uchar(c) < 0x80; })) {
        writeQuoted(out, utf8.begin(), utf8.end());
    } else {
        writeJsonString(out, QString::fromUtf8(utf8)); // as read back, U+FFFD for what is broken
    }
}

namespace {

void writeJsonStrings(JsonBuffer &out, const QStringList &values)
{
    out.put('[');
    for (qsizetype i = 0; i < values.size(); ++i) {
        if (i > 0)
            out.put(',');
        writeJsonString(out, values.at(i));
    }
    out.put(']');
}

void writeJsonStrings(JsonBuffer &out, const QMap<QString, QString> &values)
{
    out.put('{');
    for (auto it = values.cbegin(); it != values.cend(); ++it) {
        if (it != values.cbegin())
            out.put(',');
        writeJsonString(out, it.key());
        out.put(':');
        writeJsonString(out, it.value());
    }
    out.put('}');
}

// Runs `write` on a buffer continuing `out`.
template <typename Write>
void appendThrough(QByteArray &out, qsizetype room, Write write)
{
    JsonBuffer buffer(std::move(out), room);
    write(buffer);
    out = buffer.take();
}

} // namespace

} // namespace Internal

using Internal::JsonBuffer;

void appendJsonString(QByteArray &out, QStringView text)
{
    Internal::appendThrough(out, text.size() + 2, [&](JsonBuffer &b) { Internal::writeJsonString(b, text); });
}

void appendJsonStringUtf8(QByteArray &out, QByteArrayView utf8)
{
    Internal::appendThrough(out, utf8.size() + 2, [&](JsonBuffer &b) { Internal::writeJsonStringUtf8(b, utf8); });
}

void appendJsonStrings(QByteArray &out, const QStringList &values)
{
    Internal::appendThrough(out, 64, [&](JsonBuffer &b) { Internal::writeJsonStrings(b, values); });
}

void appendJsonStrings(QByteArray &out, const QMap<QString, QString> &values)
{
    Internal::appendThrough(out, 64, [&](JsonBuffer &b) { Internal::writeJsonStrings(b, values); });
}

JsonObjectWriter &JsonObjectWriter::addTimeMs(QLatin1StringView key, std::optional<qint64> ms)
{
    if (!ms)
        return addNull(key);
    char *at = writeKey(m_out.room(key.size() + 4 + IsoUtcLength + 2), key);
    *at = '"';
    if (!formatIsoUtcMs(*ms, at + 1)) // outside 1970-9999: Qt writes it (the key not yet counted)
        return add(key, isoUtcMs(*ms));
    at[IsoUtcLength + 1] = '"';
    m_out.advance(at + IsoUtcLength + 2);
    return *this;
}

JsonObjectWriter &JsonObjectWriter::addTime(QLatin1StringView key, const QDateTime &when)
{
    return when.isValid() ? addTimeMs(key, when.toMSecsSinceEpoch()) : addNull(key);
}

JsonObjectWriter &JsonObjectWriter::add(QLatin1StringView key, const QMap<QString, QString> &values)
{
    appendKey(key);
    Internal::writeJsonStrings(m_out, values);
    return *this;
}

JsonObjectWriter &JsonObjectWriter::add(QLatin1StringView key, const QStringList &values)
{
    appendKey(key);
    Internal::writeJsonStrings(m_out, values);
    return *this;
}

JsonObjectWriter &JsonObjectWriter::add(QLatin1StringView key, const QJsonObject &object)
{
    if (object.isEmpty())
        return addRaw(key, "{}");
    return addRaw(key, QJsonDocument(object).toJson(QJsonDocument::Compact));
}

} // namespace Swamp
