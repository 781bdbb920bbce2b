#pragma once

#include <QByteArray>
#include <QByteArrayView>
#include <QLatin1StringView>
#include <QMap>
#include <QStringList>
#include <QStringView>

#include <charconv>
#include <cstring>
#include <optional>

class QDateTime;
class QJsonObject;

namespace Swamp {

// Appends `text` to `out` as a JSON string (quotes included), UTF-8, escaped as RFC 8259 asks.
void appendJsonString(QByteArray &out, QStringView text);
// The same for text already in UTF-8 (a database column): the bytes as appendJsonString() writes
// QString::fromUtf8(utf8) (an invalid sequence becomes U+FFFD), without converting ASCII.
void appendJsonStringUtf8(QByteArray &out, QByteArrayView utf8);
// A JSON array of strings, and an object of strings (labels) with its keys in the map's order.
void appendJsonStrings(QByteArray &out, const QStringList &values);
void appendJsonStrings(QByteArray &out, const QMap<QString, QString> &values);

// The compact JSON text of one object, written straight into UTF-8. For the few hot paths where
// building a QJsonObject only to serialize it cost more than the work it described (issue 8: the
// data of four events per step was a fifth of the orchestrator's time). Keys are written as given
// and must be plain ASCII without quotes; each key once (nothing checks).
class JsonObjectWriter
{
public:
    // `capacity`: the bytes the object is expected to take (one allocation if it does not grow).
    explicit JsonObjectWriter(qsizetype capacity = 192) { m_out.reserve(capacity); m_out += '{'; }
    // Writes the object at the end of `text` (finish() gives it back, the object appended): many
    // objects into one buffer, without a copy of each (data.query's results).
    explicit JsonObjectWriter(QByteArray &&text)
        : m_out(std::move(text))
    {
        m_out += '{';
    }

    JsonObjectWriter &add(QLatin1StringView key, QStringView value)
    {
        appendKey(key);
        appendJsonString(m_out, value);
        return *this;
    }
    JsonObjectWriter &add(QLatin1StringView key, const QString &value) { return add(key, QStringView(value)); }
    // A string given as UTF-8 (appendJsonStringUtf8()).
    JsonObjectWriter &addUtf8(QLatin1StringView key, QByteArrayView utf8)
    {
        appendKey(key);
        appendJsonStringUtf8(m_out, utf8);
        return *this;
    }
    JsonObjectWriter &add(QLatin1StringView key, qint64 value)
    {
        char text[24];
        const auto end = std::to_chars(text, text + sizeof text, value).ptr;
        return addScalar(key, text, end - text);
    }
    JsonObjectWriter &add(QLatin1StringView key, int value) { return add(key, qint64(value)); }
    JsonObjectWriter &add(QLatin1StringView key, bool value)
    {
        return value ? addScalar(key, "true", 4) : addScalar(key, "false", 5);
    }
    JsonObjectWriter &add(QLatin1StringView key, const QStringList &values);
    // An object of strings (labels), its keys in the map's order.
    JsonObjectWriter &add(QLatin1StringView key, const QMap<QString, QString> &values);
    // Written by QJsonDocument (an object's keys need sorting and its values any type).
    JsonObjectWriter &add(QLatin1StringView key, const QJsonObject &object);
    // An ISO-8601 UTC time (isoUtc()), or null for an invalid one.
    JsonObjectWriter &addTime(QLatin1StringView key, const QDateTime &when);
    // The same from milliseconds since the epoch; nullopt is null.
    JsonObjectWriter &addTimeMs(QLatin1StringView key, std::optional<qint64> ms);
    JsonObjectWriter &addNull(QLatin1StringView key) { return addScalar(key, "null", 4); }
    // A string literal would otherwise become a bool.
    JsonObjectWriter &add(QLatin1StringView key, const char *value) = delete;
    // `json` is already a JSON value (an object from another writer, say).
    JsonObjectWriter &addRaw(QLatin1StringView key, QByteArrayView json)
    {
        appendKey(key);
        m_out += json;
        return *this;
    }

    // An object as the value of `key`: what is added until endObject() goes into it.
    JsonObjectWriter &beginObject(QLatin1StringView key)
    {
        appendKey(key);
        m_out += '{';
        return *this;
    }
    JsonObjectWriter &endObject()
    {
        m_out += '}';
        return *this;
    }

    // The text; the writer is spent.
    QByteArray finish()
    {
        m_out += '}';
        return std::move(m_out);
    }

private:
    // The key and a value that needs no escaping (a number, a time), in one append: a record
    // has dozens of them, and each append of a QByteArray costs about as much as its bytes.
    JsonObjectWriter &addScalar(QLatin1StringView key, const char *value, qsizetype size)
    {
        char text[128];
        const qsizetype keySize = key.size() + 4; // ,"key":
        if (keySize + size > qsizetype(sizeof text)) {
            appendKey(key);
            m_out.append(value, size);
            return *this;
        }
        char *at = writeKey(text, key);
        memcpy(at, value, size_t(size));
        m_out.append(text, (at - text) + size);
        return *this;
    }
    // Writes `,"key":` (no comma first in an object) at `at`; returns its end.
    char *writeKey(char *at, QLatin1StringView key) const
    {
        if (!m_out.endsWith('{')) // no value ends so: this key follows another
            *at++ = ',';
        *at++ = '"';
        memcpy(at, key.data(), size_t(key.size()));
        at += key.size();
        *at++ = '"';
        *at++ = ':';
        return at;
    }
    void appendKey(QLatin1StringView key)
    {
        char text[128];
        if (key.size() + 4 <= qsizetype(sizeof text)) {
            m_out.append(text, writeKey(text, key) - text);
            return;
        }
        if (!m_out.endsWith('{'))
            m_out += ',';
        m_out += '"';
        m_out += QByteArrayView(key.data(), key.size());
        m_out += "\":";
    }

    QByteArray m_out;
};

} // namespace Swamp
