#include "common/jsonwriter.h"

#include "common/duration.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

#include <algorithm>

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
    if (ascii) {
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

JsonObjectWriter &JsonObjectWriter::addTime(QLatin1StringView key, const QDateTime &when)
{
    char text[IsoUtcLength];
    if (!when.isValid())
        return addNull(key);
    if (!formatIsoUtc(when, text))
        return add(key, isoUtc(when));
    appendKey(key);
    m_out += '"';
    m_out += QByteArrayView(text, sizeof text);
    m_out += '"';
    return *this;
}

JsonObjectWriter &JsonObjectWriter::add(QLatin1StringView key, const QMap<QString, QString> &values)
{
    appendKey(key);
    m_out += '{';
    for (auto it = values.cbegin(); it != values.cend(); ++it) {
        if (it != values.cbegin())
            m_out += ',';
        appendJsonString(m_out, it.key());
        m_out += ':';
        appendJsonString(m_out, it.value());
    }
    m_out += '}';
    return *this;
}

JsonObjectWriter &JsonObjectWriter::add(QLatin1StringView key, const QStringList &values)
{
    appendKey(key);
    m_out += '[';
    for (qsizetype i = 0; i < values.size(); ++i) {
        if (i > 0)
            m_out += ',';
        appendJsonString(m_out, values.at(i));
    }
    m_out += ']';
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
