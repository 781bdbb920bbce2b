#include "common/jsonwriter.h"

#include <QJsonDocument>
#include <QJsonObject>

namespace Swamp {

static void appendEscaped(QByteArray &out, char c)
{
    static constexpr char Hex[] = "0123456789abcdef";
    switch (c) {
    case '"': out += "\\\""; return;
    case '\\': out += "\\\\"; return;
    case '\b': out += "\\b"; return;
    case '\f': out += "\\f"; return;
    case '\n': out += "\\n"; return;
    case '\r': out += "\\r"; return;
    case '\t': out += "\\t"; return;
    default:
        if (uchar(c) < 0x20) {
            out += "\\u00";
            out += Hex[uchar(c) >> 4];
            out += Hex[uchar(c) & 0xf];
        } else {
            out += c;
        }
    }
}

void appendJsonString(QByteArray &out, QStringView text)
{
    out += '"';
    bool ascii = true;
    for (QChar c : text) {
        if (c.unicode() >= 0x80) {
            ascii = false;
            break;
        }
    }
    if (ascii) {
        for (QChar c : text)
            appendEscaped(out, char(c.unicode()));
    } else {
        // Bytes of a multi-byte UTF-8 sequence are all >= 0x80: none needs escaping.
        for (char c : text.toUtf8())
            appendEscaped(out, c);
    }
    out += '"';
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
