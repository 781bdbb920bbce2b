#include "common/jsonwriter.h"

#include "common/duration.h"

#include <QDateTime>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

#include <algorithm>
#include <cstring>

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

void appendJsonString(QByteArray &out, QStringView text)
{
    // Room for the worst case (every character escaped as \u00XX), then cut back: one
    // allocation at most, no per-character append.
    const auto appendBytes = [&out](auto begin, auto end, qsizetype count) {
        const qsizetype start = out.size();
        out.resize(start + count * 6 + 2);
        char *at = out.data() + start;
        *at++ = '"';
        for (auto it = begin; it != end; ++it)
            at = writeEscaped(at, uchar(*it));
        *at++ = '"';
        out.truncate(at - out.constData());
    };
    const bool ascii = std::all_of(text.begin(), text.end(), [](QChar c) { return c.unicode() < 0x80; });
    const bool plain = ascii && std::all_of(text.begin(), text.end(), [](QChar c) {
        return c.unicode() >= 0x20 && c != u'"' && c != u'\\';
    });
    if (plain) { // one resize, no escapes to look for
        const qsizetype start = out.size();
        out.resize(start + text.size() + 2);
        char *at = out.data() + start;
        *at++ = '"';
        for (const QChar c : text)
            *at++ = char(c.unicode());
        *at = '"';
    } else if (ascii) {
        appendBytes(text.utf16(), text.utf16() + text.size(), text.size());
    } else if (text.isValidUtf16()) {
        // Bytes of a multi-byte UTF-8 sequence are all >= 0x80: none needs escaping.
        const QByteArray utf8 = text.toUtf8();
        appendBytes(utf8.begin(), utf8.end(), utf8.size());
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
    bool plain = true; // nothing to escape: copied as it is
    for (const char c : utf8) {
        const uchar u = uchar(c);
        if (u >= 0x80) {
            appendJsonString(out, QString::fromUtf8(utf8));
            return;
        }
        plain = plain && u >= 0x20 && c != '"' && c != '\\';
    }
    const qsizetype start = out.size();
    if (plain) {
        out.resize(start + utf8.size() + 2);
        char *at = out.data() + start;
        *at++ = '"';
        memcpy(at, utf8.data(), size_t(utf8.size()));
        at[utf8.size()] = '"';
        return;
    }
    out.resize(start + utf8.size() * 6 + 2);
    char *at = out.data() + start;
    *at++ = '"';
    for (const char c : utf8)
        at = writeEscaped(at, uchar(c));
    *at++ = '"';
    out.truncate(at - out.constData());
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
