#include "common/jsonwriter.h"

#include "common/duration.h"

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

// The characters of [begin, end) (UTF-16 code units below 0x80, or UTF-8 bytes) quoted and
// escaped: one resize for the worst case (every one escaped as \u00XX, or none escaped when none
// needs it), then cut back; no per-character append.
template <typename Iterator>
static void appendQuoted(QByteArray &out, Iterator begin, Iterator end)
{
    using Unit = std::make_unsigned_t<std::remove_cvref_t<decltype(*begin)>>;
    const auto needsNoEscape = [](auto c) { return Unit(c) >= 0x20 && Unit(c) != '"' && Unit(c) != '\\'; };
    const qsizetype count = end - begin;
    const qsizetype start = out.size();
    if (std::all_of(begin, end, needsNoEscape)) {
        // The usual text: copied as it is (std::copy: nothing to copy from an empty, null range).
        out.resize(start + count + 2);
        char *at = out.data() + start;
        *at++ = '"';
        at = std::copy(begin, end, at);
        *at = '"';
        return;
    }
    out.resize(start + count * 6 + 2);
    char *at = out.data() + start;
    *at++ = '"';
    for (auto it = begin; it != end; ++it)
        at = writeEscaped(at, uchar(Unit(*it)));
    *at++ = '"';
    out.truncate(at - out.constData());
}

void appendJsonString(QByteArray &out, QStringView text)
{
    const char16_t *utf16 = text.utf16();
    if (std::all_of(utf16, utf16 + text.size(), [](char16_t c) { return c < 0x80; })) {
        appendQuoted(out, utf16, utf16 + text.size());
    } else if (text.isValidUtf16()) {
        // Bytes of a multi-byte UTF-8 sequence are all >= 0x80: none needs escaping.
        const QByteArray utf8 = text.toUtf8();
        appendQuoted(out, utf8.begin(), utf8.end());
    } else {
        // A lone surrogate (a peer's "\ud800") has no UTF-8; toUtf8() would write '?' and an
        // echoed request id would come back changed. Qt's writer escapes it: rare enough to ask it.
        const QByteArray array =
            QJsonDocument(QJsonArray{text.toString()}).toJson(QJsonDocument::Compact);
        out += QByteArrayView(array).sliced(1, array.size() - 2);
    }
}

void appendJsonStringUtf8(QByteArray &out, QByteArrayView utf8)
{
    if (std::all_of(utf8.begin(), utf8.end(), [](char c) { return uchar(c) < 0x80; }))
        appendQuoted(out, utf8.begin(), utf8.end());
    else
        appendJsonString(out, QString::fromUtf8(utf8)); // as read back, U+FFFD for what is broken
}

void appendJsonStrings(QByteArray &out, const QStringList &values)
{
    out += '[';
    for (qsizetype i = 0; i < values.size(); ++i) {
        if (i > 0)
            out += ',';
        appendJsonString(out, values.at(i));
    }
    out += ']';
}

void appendJsonStrings(QByteArray &out, const QMap<QString, QString> &values)
{
    out += '{';
    for (auto it = values.cbegin(); it != values.cend(); ++it) {
        if (it != values.cbegin())
            out += ',';
        appendJsonString(out, it.key());
        out += ':';
        appendJsonString(out, it.value());
    }
    out += '}';
}

JsonObjectWriter &JsonObjectWriter::addTimeMs(QLatin1StringView key, std::optional<qint64> ms)
{
    char text[IsoUtcLength];
    if (!ms)
        return addNull(key);
    if (!formatIsoUtcMs(*ms, text))
        return add(key, isoUtc(QDateTime::fromMSecsSinceEpoch(*ms, Qt::UTC)));
    char quoted[IsoUtcLength + 2];
    quoted[0] = '"';
    memcpy(quoted + 1, text, sizeof text);
    quoted[IsoUtcLength + 1] = '"';
    return addScalar(key, quoted, sizeof quoted);
}

JsonObjectWriter &JsonObjectWriter::addTime(QLatin1StringView key, const QDateTime &when)
{
    return when.isValid() ? addTimeMs(key, when.toMSecsSinceEpoch()) : addNull(key);
}

JsonObjectWriter &JsonObjectWriter::add(QLatin1StringView key, const QMap<QString, QString> &values)
{
    appendKey(key);
    appendJsonStrings(m_out, values);
    return *this;
}

JsonObjectWriter &JsonObjectWriter::add(QLatin1StringView key, const QStringList &values)
{
    appendKey(key);
    appendJsonStrings(m_out, values);
    return *this;
}

JsonObjectWriter &JsonObjectWriter::add(QLatin1StringView key, const QJsonObject &object)
{
    appendKey(key);
    if (object.isEmpty())
        m_out += "{}";
    else
        m_out += QJsonDocument(object).toJson(QJsonDocument::Compact);
    return *this;
}

} // namespace Swamp
